// version() and build_info(): what was built, with what, and what this server loaded.
#include "pg/guard.hpp"
#include "pg/shmem.hpp"

extern "C" {
#include "lib/stringinfo.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
}

#include <hiredis/hiredis.h>
#include <xxhash.h>

#ifndef AI_SCALE_VERSION
#error "AI_SCALE_VERSION (the control file's default_version) is set by the Makefile"
#endif

namespace {

#define STR_(x) #x
#define STR(x) STR_(x)

void add_field(StringInfo buf, const char* key, const char* value)
{
    if (buf->len > 1)
        appendStringInfoString(buf, ", ");
    escape_json(buf, key);
    appendStringInfoString(buf, ": ");
    escape_json(buf, value);
}

void add_bool(StringInfo buf, const char* key, bool value)
{
    if (buf->len > 1)
        appendStringInfoString(buf, ", ");
    escape_json(buf, key);
    appendStringInfoString(buf, value ? ": true" : ": false");
}

// The GPU module is a separate shared object installed beside ai_scale.so when nvcc was found.
bool gpu_module_installed()
{
    char path[MAXPGPATH];
    snprintf(path, sizeof(path), "%s/ai_scale_gpu.so", pkglib_path);
    return access(path, R_OK) == 0;
}

} // namespace

AI_SCALE_FUNCTION(ai_scale_version)
{
    PG_RETURN_TEXT_P(cstring_to_text(AI_SCALE_VERSION));
}

AI_SCALE_FUNCTION(ai_scale_build_info)
{
    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfoChar(&buf, '{');
    add_field(&buf, "version", AI_SCALE_VERSION);
#ifdef __clang__
    add_field(&buf, "compiler", "clang++ " __clang_version__);
#else
    add_field(&buf, "compiler", "g++ " __VERSION__);
#endif
    add_field(&buf, "cxx_standard", STR(__cplusplus));
    add_field(&buf, "built_for_postgres", PG_VERSION);
    add_field(&buf, "hiredis", STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR) "." STR(HIREDIS_PATCH));
    add_field(&buf, "xxhash",
              STR(XXH_VERSION_MAJOR) "." STR(XXH_VERSION_MINOR) "." STR(XXH_VERSION_RELEASE));
    add_bool(&buf, "gpu_module_installed", gpu_module_installed());
    add_bool(&buf, "preloaded", ai_scale::pg::preloaded());
    appendStringInfoChar(&buf, '}');
    PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
