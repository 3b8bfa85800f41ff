#include "cache/unsent_bumps_format.hpp"
#include "cache/generation_slots.hpp"

#include <charconv>

namespace ai_scale::cache::unsent_bumps {

namespace {
constexpr std::string_view header = "ai_scale unsent generation bumps 1\n";
constexpr std::string_view trailer = "end\n";
} // namespace

std::string format(const std::vector<uint32_t>& slots)
{
    std::string text(header);
    for (uint32_t slot : slots) {
        text += std::to_string(slot);
        text += '\n';
    }
    text += trailer;
    return text;
}

std::optional<std::vector<uint32_t>> parse(std::string_view text)
{
    if (text.substr(0, header.size()) != header)
        return std::nullopt;
    text.remove_prefix(header.size());
    std::vector<uint32_t> slots;
    while (text != trailer) {
        const size_t eol = text.find('\n');
        if (eol == std::string_view::npos || eol == 0 || eol > 5 || text[0] < '0' ||
            text[0] > '9' || (text[0] == '0' && eol > 1))
            return std::nullopt;
        uint32_t slot = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + eol, slot);
        if (ec != std::errc() || end != text.data() + eol || slot >= generation::n_slots ||
            (!slots.empty() && slot <= slots.back()))
            return std::nullopt;
        slots.push_back(slot);
        text.remove_prefix(eol + 1);
    }
    return slots;
}

} // namespace ai_scale::cache::unsent_bumps
