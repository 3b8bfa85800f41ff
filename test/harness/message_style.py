#!/usr/bin/env python3
"""The mechanical rules of PostgreSQL's Error Message Style Guide, checked on every message
ai_scale's C++ (src/) and its SQL (install/) can raise.

Primary messages (errmsg, elog, pg::error's message, GUC_check_errmsg, RAISE's format): do not
start with a capital letter (an acronym or a name spelled with capitals inside, such as GPU or
XGBoost, may) and do not end with a period. DETAIL and HINT texts (errdetail, errhint, pg::error's
detail and hint, RAISE ... USING DETAIL/HINT) end with a period, or with the ';' of a SQL
statement they give to run. Only what the source spells out is checked: a text that starts or
ends with a value filled in at run time (a %s, a variable) is judged by its literal part only.
Messages made elsewhere and raised through pg::error (partition's invalid_config, scoring's
model_error and fail()) are checked as primaries too.

Usage: message_style.py [--list] [ROOT]. Exits 1 and names each violation (file:line) when a
rule is broken; --list prints every message found instead, one a line.
"""
import re
import sys
from pathlib import Path

PRIMARY_CALLS = ("errmsg", "errmsg_internal", "errmsg_plural", "GUC_check_errmsg")
# Exceptions whose text becomes a primary message (partition::invalid_config and the database
# list's through pg::error, scoring's model_error through "invalid ... model: %s"), and the
# scoring parsers' fail(message, detail), which throws model_error.
PRIMARY_THROWS = ("invalid_config", "invalid_database_list", "model_error", "fail")
DETAIL_CALLS = ("errdetail", "errdetail_internal", "errdetail_log", "errdetail_plural",
                "errhint", "errhint_plural", "GUC_check_errdetail", "GUC_check_errhint")


def string_literal(text, i):
    """The C string literal starting at text[i] ('"'): (its value, the index after it)."""
    j = i + 1
    out = []
    while text[j] != '"':
        if text[j] == "\\":
            out.append(text[j:j + 2])
            j += 2
        else:
            out.append(text[j])
            j += 1
    return "".join(out), j + 1


def split_args(text, i):
    """The top-level arguments of the call whose '(' is at text[i]: [(start index, text)]."""
    depth = 0
    args = []
    start = i + 1
    j = i
    while True:
        c = text[j]
        if c == '"':
            _, j = string_literal(text, j)
            continue
        if c == "'":
            j = text.index("'", j + 2 if text[j + 1] == "\\" else j + 1) + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append((start, text[start:j]))
                return args
        elif c == "," and depth == 1:
            args.append((start, text[start:j]))
            start = j + 1
        j += 1


def literal_ends(expr):
    """(first, last) string literal of a C++ expression when it starts (ends) with one."""
    expr = expr.strip()
    # std::string("...") + ... counts as a literal start.
    m = re.match(r'(?:std::string\()?"', expr)
    first = last = None
    if m:
        # Adjacent literals ("a" "b") are one string.
        value, k = string_literal(expr, m.end() - 1)
        parts = [value]
        while True:
            rest = expr[k:].lstrip()
            if not rest.startswith('"'):
                break
            k = len(expr) - len(rest)
            value, k = string_literal(expr, k)
            parts.append(value)
        first = "".join(parts)
    stripped = re.sub(r"\)+$", "", expr).rstrip()
    if stripped.endswith('"'):
        # The last literal: walk back to its opening quote.
        k = len(stripped) - 2
        while k >= 0:
            if stripped[k] == '"' and stripped[k - 1] != "\\":
                break
            k -= 1
        last, _ = string_literal(stripped, k)
    return first, last


def cpp_messages(path):
    text = path.read_text()
    # Comments hold example messages; blank them, keeping the line count.
    text = re.sub(r"//[^\n]*", lambda m: " " * len(m.group()), text)
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), text, flags=re.S)

    def line(i):
        return text.count("\n", 0, i) + 1

    for m in re.finditer(r"\b(\w+)\s*\(", text):
        name = m.group(1)
        paren = m.end() - 1
        if name in PRIMARY_CALLS or name in DETAIL_CALLS:
            args = split_args(text, paren)
            kind = "primary" if name in PRIMARY_CALLS else "detail"
            for start, arg in args[:2 if name.endswith("_plural") else 1]:
                yield kind, line(start), literal_ends(arg)
        elif name in PRIMARY_THROWS and (
                re.search(r"throw\s+$", text[:m.start()]) or
                (name == "fail" and path.parent.name == "scoring")):
            args = split_args(text, paren)
            yield "primary", line(args[0][0]), literal_ends(args[0][1])
            for start, arg in args[1:2]:
                if arg.strip() not in ("", "{}", '""'):
                    yield "detail", line(start), literal_ends(arg)
        elif name == "elog":
            args = split_args(text, paren)
            if len(args) >= 2:
                yield "primary", line(args[1][0]), literal_ends(args[1][1])
        elif name == "error" and re.search(r"(pg::|throw\s+)$", text[:m.start()]):
            args = split_args(text, paren)
            if len(args) >= 2 and "ERRCODE" in args[0][1]:
                yield "primary", line(args[1][0]), literal_ends(args[1][1])
                for start, arg in args[2:4]:
                    first, last = literal_ends(arg)
                    if arg.strip() not in ("", "{}", '""'):
                        yield "detail", line(start), (first, last)


def sql_literal(text, i):
    """The SQL literal at text[i] ("'"), with literals on later lines joined: (value, end)."""
    parts = []
    while True:
        j = i + 1
        while True:
            j = text.index("'", j)
            if text[j + 1:j + 2] == "'":
                j += 2
                continue
            break
        parts.append(text[i + 1:j].replace("''", "'"))
        m = re.match(r"[ \t]*\n\s*'", text[j + 1:])
        if not m:
            return "".join(parts), j + 1
        i = j + 1 + m.end() - 1


def statement_end(text, i):
    """The index of the ';' that ends the SQL statement going on at text[i], past literals."""
    while True:
        c = text[i]
        if c == "'":
            _, i = sql_literal(text, i)
            continue
        if c == ";":
            return i
        i += 1


def sql_messages(path):
    text = path.read_text()
    text = re.sub(r"--[^\n]*", lambda m: " " * len(m.group()), text)

    def line(i):
        return text.count("\n", 0, i) + 1

    for m in re.finditer(r"\bRAISE\s+(EXCEPTION|WARNING|NOTICE|INFO|LOG)\s+'", text):
        value, end = sql_literal(text, m.end() - 1)
        yield "primary", line(m.start()), (value, value)
        # The USING clause: DETAIL = '...' or format('...', ...), HINT the same.
        pos = end
        clause_end = statement_end(text, end)
        while True:
            d = re.compile(r"\b(DETAIL|HINT)\s*=\s*(format\s*\(\s*)?'").search(text, pos, clause_end)
            if not d:
                break
            value, pos = sql_literal(text, d.end() - 1)
            yield "detail", line(d.end() - 1), (value, value)


def violations(kind, first, last):
    found = []
    if kind == "primary":
        if first and re.match(r"[A-Z][a-z]+\b", first) and not re.match(r"[A-Z]\w*[A-Z]", first):
            found.append("primary message starts with a capital letter")
        if last and last.endswith(".") and not last.endswith(".."):
            found.append("primary message ends with a period")
    else:
        if last and not re.search(r"(%[-0-9.]*[a-zA-Z]|[.;])$", last):
            found.append("DETAIL or HINT does not end with a period")
    return found


def main(argv):
    listing = "--list" in argv
    args = [a for a in argv if a != "--list"]
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    sources = [(p, cpp_messages) for p in sorted((root / "src").rglob("*.cpp"))]
    sources += [(p, sql_messages) for p in sorted((root / "install").glob("*.sql"))]
    bad = 0
    count = 0
    for path, extract in sources:
        for kind, line, (first, last) in extract(path):
            count += 1
            where = f"{path.relative_to(root)}:{line}"
            if listing:
                print(f"{where}\t{kind}\t{first!r}\t{last!r}")
                continue
            for problem in violations(kind, first, last):
                print(f"{where}: {problem}: {(first if kind == 'primary' else last)!r}")
                bad += 1
    if not listing:
        print(f"message_style: {count} message texts checked, {bad} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
