// A small JSON reader (DOM) for model parameters and XGBoost model dumps. Pure C++, so the
// importer and the parameter validation are unit-tested and fuzzed without a server.
#pragma once

#include <cstdint>
#include <memory>
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

// A JSON value in 24 bytes: a number is one of the many in a model's arrays, and at 104 bytes
// (a string and two vectors in each) a 10 MB array of small numbers took 888 MB to read. A
// string, array or object keeps its contents in one allocation of its own.
struct value {
    enum class type : uint8_t { null, boolean, number, string, array, object };
    using member = std::pair<std::string, value>;

    type t = type::null;
    bool b = false;
    // The float nearest the number's text, as XGBoost's reader has it (rounded once, from the
    // decimal). float(num) rounds twice and differs from it where num lies exactly half way
    // between two floats: 1.00000005960464477539062501 is read as 1.0000001, float(num) is 1.
    float num_float = 0;
    double num = 0;

    value() = default;
    value(value&&) noexcept = default;
    value& operator=(value&&) noexcept = default;
    value(const value& other) { *this = other; }
    value& operator=(const value& other);

    // The contents: empty unless the value is of that type (an object's in document order).
    const std::string& str() const { return c_ ? c_->str : empty().str; }
    const std::vector<value>& items() const { return c_ ? c_->items : empty().items; }
    const std::vector<member>& fields() const { return c_ ? c_->fields : empty().fields; }
    // The same, to change (made for the value when it has none).
    std::string& mutable_str() { return contents().str; }
    std::vector<value>& mutable_items() { return contents().items; }
    std::vector<member>& mutable_fields() { return contents().fields; }

    bool is_number() const { return t == type::number; }
    bool is_string() const { return t == type::string; }
    bool is_array() const { return t == type::array; }
    bool is_object() const { return t == type::object; }
    // The member named key, or nullptr (the last one wins when a key repeats).
    const value* find(std::string_view key) const;

  private:
    struct compound {
        std::string str;
        std::vector<value> items;
        std::vector<member> fields;
    };
    static const compound& empty();
    compound& contents();
    std::unique_ptr<compound> c_;
};

constexpr int max_depth = 256; // arrays and objects nested in each other, the top one counted

value parse(std::string_view text);

// Appends text as a JSON string literal, and a double as the shortest text that reads back.
void write_string(std::string& out, std::string_view text);
void write_number(std::string& out, double v);

const char* type_name(value::type t);

} // namespace ai_scale::scoring::json
