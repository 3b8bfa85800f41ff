#include "pg/error_context.hpp"

#include <string_view>

namespace ai_scale::pg {

std::string function_lines(const std::string& context)
{
    std::string kept;
    size_t start = 0;
    while (start < context.size()) {
        size_t end = context.find('\n', start);
        if (end == std::string::npos)
            end = context.size();
        const std::string_view line(context.data() + start, end - start);
        if (line.rfind("PL/pgSQL function ", 0) == 0 || line.rfind("SQL function ", 0) == 0) {
            if (!kept.empty())
                kept += '\n';
            kept += line;
        }
        start = end + 1;
    }
    return kept;
}

std::string without_outer(const std::string& lines, const std::string& outer)
{
    if (outer.empty() || outer.size() > lines.size())
        return lines;
    const size_t start = lines.size() - outer.size();
    if (lines.compare(start, outer.size(), outer) != 0)
        return lines;
    if (start == 0)
        return {};
    if (lines[start - 1] != '\n')
        return lines; // not on a line's start
    return lines.substr(0, start - 1);
}

} // namespace ai_scale::pg
