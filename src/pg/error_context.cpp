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

} // namespace ai_scale::pg
