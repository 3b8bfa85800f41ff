// A small JSON reader (DOM) for model parameters and XGBoost model dumps. Pure C++, so the
// importer and the parameter validation are unit-tested and fuzzed without a server.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_scale::scoring::json {

// Malformed text, or a document deeper or larger than the reader accepts.
class parse_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct value {
    enum class type { null, boolean, number, string, array, object };
    type t = type::null;
    bool b = false;
    double num = 0;
    // The float nearest the number's text, as XGBoost's reader has it (rounded once, from the
    // decimal). float(num) rounds twice and differs from it where num lies exactly half way
    // between two floats: 1.0000000596046447753906249 is read as 1, float(num) is 1.0000001.
    float num_float = 0;
    std::string str;
    std::vector<value> items;                          // array
    std::vector<std::pair<std::string, value>> fields; // object, in document order

    bool is_number() const { return t == type::number; }
    bool is_string() const { return t == type::string; }
    bool is_array() const { return t == type::array; }
    bool is_object() const { return t == type::object; }
    // The member named key, or nullptr (the last one wins when a key repeats).
    const value* find(std::string_view key) const;
};

constexpr int max_depth = 256;

value parse(std::string_view text);

// Appends text as a JSON string literal, and a double as the shortest text that reads back.
void write_string(std::string& out, std::string_view text);
void write_number(std::string& out, double v);

const char* type_name(value::type t);

} // namespace ai_scale::scoring::json
