#include "pg/error_context.hpp"

#include <gtest/gtest.h>

using ai_scale::pg::function_lines;

TEST(ErrorContext, KeepsTheFunctionLinesInOrder)
{
    const std::string context = "SQL statement \"INSERT INTO evt_audit VALUES ($1)\"\n"
                                "PL/pgSQL function public.audit() line 6 at SQL statement\n"
                                "SQL statement \"CREATE TABLE public.t_20261207 ...\"\n"
                                "SQL function \"helper\" statement 1\n"
                                "PL/pgSQL function ai_scale._maintain(regclass) line 9 at EXECUTE";
    EXPECT_EQ(function_lines(context),
              "PL/pgSQL function public.audit() line 6 at SQL statement\n"
              "SQL function \"helper\" statement 1\n"
              "PL/pgSQL function ai_scale._maintain(regclass) line 9 at EXECUTE");
}

TEST(ErrorContext, NothingWithoutAFunctionLine)
{
    EXPECT_EQ(function_lines(""), "");
    EXPECT_EQ(function_lines("SQL statement \"SELECT 1\""), "");
    // Only at the start of a line: a statement that quotes such words is not a frame.
    EXPECT_EQ(function_lines("SQL statement \"SELECT 'PL/pgSQL function x'\""), "");
}

TEST(ErrorContext, TheOuterFramesGoOnce)
{
    using ai_scale::pg::without_outer;
    const std::string outer = "PL/pgSQL function app.wrap() line 2 at RETURN\n"
                              "PL/pgSQL function inline_code_block line 1 at PERFORM";
    EXPECT_EQ(without_outer("PL/pgSQL function t() line 4 at RAISE\n" + outer, outer),
              "PL/pgSQL function t() line 4 at RAISE");
    EXPECT_EQ(without_outer(outer, outer), "");
    // Not the outer frames at the end, or not whole lines: kept as they are.
    EXPECT_EQ(without_outer("PL/pgSQL function t() line 4 at RAISE", outer),
              "PL/pgSQL function t() line 4 at RAISE");
    EXPECT_EQ(without_outer("xPL/pgSQL function inline_code_block line 1 at PERFORM",
                            "PL/pgSQL function inline_code_block line 1 at PERFORM"),
              "xPL/pgSQL function inline_code_block line 1 at PERFORM");
    EXPECT_EQ(without_outer("a", ""), "a");
}

TEST(ErrorContext, EmptyLinesAndATrailingNewline)
{
    EXPECT_EQ(function_lines("\nPL/pgSQL function f() line 1 at RAISE\n"),
              "PL/pgSQL function f() line 1 at RAISE");
}
