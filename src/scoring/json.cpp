#include "scoring/json.hpp"
#include "scoring/interruption.hpp"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ai_scale::scoring::json {

static_assert(sizeof(value) <= 24, "a number in a model's arrays takes 24 bytes");

value& value::operator=(const value& other)
{
    if (this == &other)
        return *this;
    t = other.t;
    b = other.b;
    num_float = other.num_float;
    num = other.num;
    c_ = other.c_ ? std::make_unique<compound>(*other.c_) : nullptr;
    return *this;
}

const value::compound& value::empty()
{
    static const compound none;
    return none;
}

value::compound& value::contents()
{
    if (!c_)
        c_ = std::make_unique<compound>();
    return *c_;
}

const value* value::find(std::string_view key) const
{
    const value* found = nullptr;
    for (const auto& f : fields())
        if (f.first == key)
            found = &f.second;
    return found;
}

const char* type_name(value::type t)
{
    switch (t) {
    case value::type::null:
        return "null";
    case value::type::boolean:
        return "boolean";
    case value::type::number:
        return "number";
    case value::type::string:
        return "string";
    case value::type::array:
        return "array";
    case value::type::object:
        return "object";
    }
    return "unknown";
}

namespace {

class reader {
  public:
    explicit reader(std::string_view text) : s_(text) {}

    value document()
    {
        value v = parse_value(0);
        skip_space();
        if (pos_ != s_.size())
            fail("unexpected text after the document");
        return v;
    }

  private:
    // Values read between two interruption points: a few milliseconds of a large document.
    static constexpr size_t values_per_check = 4096;

    std::string_view s_;
    size_t pos_ = 0;
    size_t values_ = 0;

    [[noreturn]] void fail(const char* what)
    {
        throw parse_error(std::string(what) + " at offset " + std::to_string(pos_));
    }

    void skip_space()
    {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
            pos_++;
    }

    bool literal(const char* word)
    {
        size_t n = strlen(word);
        if (s_.substr(pos_, n) != word)
            return false;
        pos_ += n;
        return true;
    }

    // depth: the arrays and objects around the value. Only arrays and objects count as levels
    // (docs/scoring.md: no deeper than 256): the 257th nested one is refused at its bracket,
    // whatever it holds; a number or string inside the 256th is read.
    value parse_value(int depth)
    {
        if (++values_ % values_per_check == 0)
            interruption_point();
        skip_space();
        if (pos_ >= s_.size())
            fail("unexpected end of text");
        value v;
        char c = s_[pos_];
        if ((c == '{' || c == '[') && depth >= max_depth)
            fail("document nested too deeply");
        if (c == '{') {
            v.t = value::type::object;
            pos_++;
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == '}') {
                pos_++;
                return v;
            }
            for (;;) {
                skip_space();
                if (pos_ >= s_.size() || s_[pos_] != '"')
                    fail("expected a string key");
                std::string key = parse_string();
                skip_space();
                if (pos_ >= s_.size() || s_[pos_] != ':')
                    fail("expected ':'");
                pos_++;
                v.mutable_fields().emplace_back(std::move(key), parse_value(depth + 1));
                skip_space();
                if (pos_ < s_.size() && s_[pos_] == ',') {
                    pos_++;
                    continue;
                }
                if (pos_ < s_.size() && s_[pos_] == '}') {
                    pos_++;
                    return v;
                }
                fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.t = value::type::array;
            pos_++;
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == ']') {
                pos_++;
                return v;
            }
            for (;;) {
                v.mutable_items().push_back(parse_value(depth + 1));
                skip_space();
                if (pos_ < s_.size() && s_[pos_] == ',') {
                    pos_++;
                    continue;
                }
                if (pos_ < s_.size() && s_[pos_] == ']') {
                    pos_++;
                    return v;
                }
                fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.t = value::type::string;
            v.mutable_str() = parse_string();
            return v;
        }
        if (literal("true")) {
            v.t = value::type::boolean;
            v.b = true;
            return v;
        }
        if (literal("false")) {
            v.t = value::type::boolean;
            return v;
        }
        if (literal("null"))
            return v;
        v.t = value::type::number;
        v.num = parse_number(&v.num_float);
        return v;
    }

    double parse_number(float* as_float)
    {
        size_t start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-')
            pos_++;
        size_t digits = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
            pos_++;
        if (pos_ == digits)
            fail("invalid value");
        if (pos_ < s_.size() && s_[pos_] == '.') {
            pos_++;
            size_t frac = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
                pos_++;
            if (pos_ == frac)
                fail("invalid number");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            pos_++;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'))
                pos_++;
            size_t exp = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
                pos_++;
            if (pos_ == exp)
                fail("invalid number");
        }
        std::string text(s_.substr(start, pos_ - start));
        double d = strtod(text.c_str(), nullptr); // out of range gives +-inf, caught by validation
        // float(d) is the float nearest the text unless d is exactly half way between two
        // floats (its 29 bits below float's precision 1000...0 where floats are normal); then,
        // and outside float's normal range, the text is read again as a float.
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        const double a = std::fabs(d);
        const bool normal = a >= 0x1p-126 && a <= FLT_MAX;
        if (d == 0 || (normal && (bits & ((uint64_t(1) << 29) - 1)) != (uint64_t(1) << 28)))
            *as_float = float(d);
        else
            *as_float = strtof(text.c_str(), nullptr);
        return d;
    }

    unsigned hex4()
    {
        if (pos_ + 4 > s_.size())
            fail("invalid \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= unsigned(c - 'A' + 10);
            else
                fail("invalid \\u escape");
        }
        return v;
    }

    static void append_utf8(std::string& out, unsigned cp)
    {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string parse_string()
    {
        pos_++; // opening quote
        std::string out;
        for (;;) {
            if (pos_ >= s_.size())
                fail("unterminated string");
            char c = s_[pos_++];
            if (c == '"')
                return out;
            if ((unsigned char)c < 0x20)
                fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= s_.size())
                fail("unterminated string");
            char e = s_[pos_++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
                    pos_ += 2;
                    unsigned lo = hex4();
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        fail("invalid surrogate pair");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default:
                fail("invalid escape");
            }
        }
    }
};

} // namespace

value parse(std::string_view text)
{
    return reader(text).document();
}

void write_string(std::string& out, std::string_view text)
{
    out += '"';
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if ((unsigned char)c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", unsigned((unsigned char)c));
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
}

void write_number(std::string& out, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", v);
    out += buf;
}

} // namespace ai_scale::scoring::json
