#include "cache/unsent_bumps_format.hpp"
#include "cache/generation_slots.hpp"

#include <charconv>

namespace ai_scale::cache::unsent_bumps {

namespace {
constexpr std::string_view header = "ai_scale unsent generation bumps 2\n";
constexpr std::string_view trailer = "end\n";

// A decimal number without sign, leading zero or space, of at most max_digits digits.
template <typename T> bool number(std::string_view s, size_t max_digits, T& out)
{
    if (s.empty() || s.size() > max_digits || s[0] < '0' || s[0] > '9' ||
        (s[0] == '0' && s.size() > 1))
        return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}
} // namespace

std::string format(const std::vector<carried>& slots)
{
    std::string text(header);
    for (const carried& c : slots) {
        text += std::to_string(c.slot);
        if (c.generation != 0) {
            text += ' ';
            text += std::to_string(c.generation);
        }
        text += '\n';
    }
    text += trailer;
    return text;
}

std::optional<std::vector<carried>> parse(std::string_view text)
{
    if (text.substr(0, header.size()) != header)
        return std::nullopt;
    text.remove_prefix(header.size());
    std::vector<carried> slots;
    while (text != trailer) {
        const size_t eol = text.find('\n');
        if (eol == std::string_view::npos)
            return std::nullopt;
        std::string_view line = text.substr(0, eol);
        const size_t space = line.find(' ');
        carried c{0, 0};
        if (!number(line.substr(0, space), 5, c.slot) || c.slot >= generation::n_slots ||
            (!slots.empty() && c.slot <= slots.back().slot))
            return std::nullopt;
        if (space != std::string_view::npos &&
            (!number(line.substr(space + 1), 20, c.generation) || c.generation == 0))
            return std::nullopt;
        slots.push_back(c);
        text.remove_prefix(eol + 1);
    }
    return slots;
}

} // namespace ai_scale::cache::unsent_bumps
