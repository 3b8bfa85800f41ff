// Limits on what a Redis reply may make a backend hold, checked on the bytes as they arrive and
// before hiredis sees them: hiredis 0.14 allocates an array's element pointers as soon as it
// reads `*N` (`*2000000000` asks for 16 GB), and buffers a bulk string whole before anyone can
// look at its length. Pure C++: the scanner walks RESP2 (the only protocol hiredis 0.14 speaks)
// just far enough to know the lengths, nesting and where each reply ends.
#pragma once

#include "cache/redis_command.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ai_scale::cache {

struct resp_limits {
    uint64_t max_bytes = 0;    // everything the replies of one round trip may take
    uint64_t max_elements = 0; // array elements, summed over every array of those replies
    // One bulk string: the largest value a command may read back. Within max_bytes alone, one
    // element of a 100-key MGET could take the budget of all 100 (6.4 GB), which anyone who
    // could write to Redis could plant for every cache_get_many to buffer.
    uint64_t max_bulk_bytes = UINT64_MAX;
};

// What the replies to these commands (each as its words; the first word is the command) may
// take, when a value read back is at most max_value_bytes: a GET one value, an MGET one per
// key, INFO a few hundred kB, anything else (SET, INCRBY, AUTH, SENTINEL ...) a little.
resp_limits limits_for(const std::vector<command>& commands, uint64_t max_value_bytes);

class resp_scanner {
  public:
    explicit resp_scanner(resp_limits limits) : limits_(limits) {}

    // Takes the next bytes of the stream; false (and then always false) when they break a limit
    // or are not RESP2. Bytes are never kept.
    bool feed(const char* data, size_t len);
    // Top-level replies complete so far.
    size_t complete() const { return complete_; }
    // The lengths of the bulk strings announced so far, summed (their bytes may not all have
    // arrived yet).
    uint64_t announced_bulk_bytes() const { return announced_bulk_bytes_; }
    // Why feed refused, for the error message.
    const std::string& why() const { return why_; }

  private:
    bool fail(std::string why);
    bool header_done();  // a type line ended: act on it
    bool element_done(); // a value ended: count it against its array(s)

    resp_limits limits_;
    uint64_t bytes_ = 0;
    uint64_t elements_ = 0;
    size_t complete_ = 0;
    enum class at { type, line, bulk, bulk_cr, bulk_lf } at_ = at::type;
    char type_ = 0;
    std::string line_;     // the digits after $, * or :, kept to parse the number
    bool line_cr_ = false; // the line's \r was seen
    uint64_t bulk_left_ = 0;
    uint64_t announced_bulk_bytes_ = 0;
    std::vector<int64_t> open_; // elements still to come, per open array (innermost last)
    bool failed_ = false;
    std::string why_;
};

} // namespace ai_scale::cache
