#include "cache/resp_limits.hpp"

#include <algorithm>
#include <cstdlib>

namespace ai_scale::cache {

namespace {

// hiredis 0.14 reads arrays nested at most 7 deep.
constexpr size_t max_depth = 7;
// A type line of a number is at most this long (sign and 19 digits); a simple string or error
// line (+OK, -ERR ...) is skipped, not kept, and only counts against the byte budget.
constexpr size_t max_number_line = 21;
// Headers of one reply (`$N\r\n`, MGET's array header) and the slack of small replies.
constexpr uint64_t reply_overhead = 4096;
constexpr uint64_t info_bytes = 512 * 1024;
constexpr uint64_t other_bytes = 256 * 1024; // SENTINEL replicas: ~1 kB per replica
constexpr uint64_t other_elements = 4096;

bool is(const std::string& word, const char* name)
{
    if (word.size() != std::char_traits<char>::length(name))
        return false;
    for (size_t i = 0; i < word.size(); i++)
        if ((word[i] & ~0x20) != name[i])
            return false;
    return true;
}

} // namespace

resp_limits limits_for(const std::vector<command>& commands, uint64_t max_value_bytes)
{
    resp_limits l;
    l.max_bulk_bytes = 0;
    for (const auto& cmd : commands) {
        const std::string name = cmd.empty() ? std::string() : cmd[0].bytes;
        uint64_t bulk = other_bytes;
        if (is(name, "GET")) {
            l.max_bytes += max_value_bytes + reply_overhead;
            bulk = max_value_bytes;
        } else if (is(name, "MGET")) {
            uint64_t keys = cmd.size() - 1;
            l.max_bytes += keys * (max_value_bytes + 64) + reply_overhead;
            l.max_elements += keys;
            bulk = max_value_bytes;
        } else if (is(name, "INFO")) {
            l.max_bytes += info_bytes;
            bulk = info_bytes;
        } else {
            l.max_bytes += other_bytes;
            l.max_elements += other_elements;
        }
        l.max_bulk_bytes = std::max(l.max_bulk_bytes, bulk);
    }
    return l;
}

bool resp_scanner::fail(std::string why)
{
    failed_ = true;
    why_ = std::move(why);
    return false;
}

bool resp_scanner::element_done()
{
    while (!open_.empty()) {
        if (--open_.back() > 0)
            return true;
        open_.pop_back(); // that array is complete: one element of its parent
    }
    complete_++;
    return true;
}

bool resp_scanner::header_done()
{
    if (type_ == '+' || type_ == '-')
        return element_done();
    // A length ($, *) is digits, or -1: strtoll also takes leading blanks, a '+' and other
    // negative numbers (`$ 13`, `*-5`), which hiredis 0.14.1 refuses but a build without its
    // range checks might read into a reply of negative size.
    if (type_ != ':' && line_ != "-1" &&
        (line_.empty() || line_.find_first_not_of("0123456789") != std::string::npos))
        return fail("malformed length in a reply");
    char* end = nullptr;
    long long n = std::strtoll(line_.c_str(), &end, 10);
    if (line_.empty() || *end != '\0')
        return fail("malformed length in a reply");
    switch (type_) {
    case ':':
        return element_done();
    case '$':
        if (n < 0)
            return element_done(); // nil
        if (const uint64_t most = std::min(limits_.max_bytes, limits_.max_bulk_bytes);
            uint64_t(n) > most)
            return fail("a bulk reply of " + std::to_string(n) + " bytes is over the limit of " +
                        std::to_string(most));
        bulk_left_ = uint64_t(n);
        announced_bulk_bytes_ += bulk_left_;
        at_ = bulk_left_ ? at::bulk : at::bulk_cr;
        return true;
    case '*':
        if (n <= 0)
            return element_done(); // nil or empty
        if (uint64_t(n) > limits_.max_elements - elements_)
            return fail("an array reply of " + std::to_string(n) +
                        " elements is over the limit of " + std::to_string(limits_.max_elements));
        if (open_.size() >= max_depth)
            return fail("array replies nested too deep");
        elements_ += uint64_t(n);
        open_.push_back(n);
        return true;
    }
    return fail("malformed reply");
}

bool resp_scanner::feed(const char* data, size_t len)
{
    if (failed_)
        return false;
    if (len > limits_.max_bytes - bytes_)
        return fail("the replies are over the limit of " + std::to_string(limits_.max_bytes) +
                    " bytes");
    bytes_ += len;
    const char* p = data;
    const char* end = data + len;
    while (p < end) {
        switch (at_) {
        case at::type:
            type_ = *p++;
            if (type_ != '+' && type_ != '-' && type_ != ':' && type_ != '$' && type_ != '*')
                return fail("malformed reply");
            line_.clear();
            line_cr_ = false;
            at_ = at::line;
            break;
        case at::line: {
            char c = *p++;
            if (line_cr_) {
                if (c != '\n')
                    return fail("malformed reply");
                at_ = at::type;
                if (!header_done())
                    return false;
            } else if (c == '\r') {
                line_cr_ = true;
            } else if (type_ != '+' && type_ != '-') {
                if (line_.size() >= max_number_line)
                    return fail("malformed length in a reply");
                line_.push_back(c);
            }
            break;
        }
        case at::bulk: {
            uint64_t take = std::min<uint64_t>(bulk_left_, uint64_t(end - p));
            p += take;
            bulk_left_ -= take;
            if (bulk_left_ == 0)
                at_ = at::bulk_cr;
            break;
        }
        case at::bulk_cr:
            if (*p++ != '\r')
                return fail("malformed reply");
            at_ = at::bulk_lf;
            break;
        case at::bulk_lf:
            if (*p++ != '\n')
                return fail("malformed reply");
            at_ = at::type;
            if (!element_done())
                return false;
            break;
        }
    }
    return true;
}

} // namespace ai_scale::cache
