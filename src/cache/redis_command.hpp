// A Redis command as its words (binary-safe), as redis_run sends it. Pure C++.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ai_scale::cache {

// A word: its own bytes, then bytes it borrows, sent from where they lie. A cached output's
// Redis value is its header (l2_format.hpp) and the output's payload borrowed from the jsonb:
// copied into a value of its own, a 60 MB output was held once more for the whole write. What
// a word borrows must outlive the redis_run that sends it.
struct word {
    std::string bytes;
    std::string_view borrowed;

    word(std::string own) : bytes(std::move(own)) {}
    word(const char* own) : bytes(own) {}
    word(std::string own, std::string_view tail) : bytes(std::move(own)), borrowed(tail) {}

    std::size_t size() const { return bytes.size() + borrowed.size(); }
};

using command = std::vector<word>;

} // namespace ai_scale::cache
