#include "cache/l2_value.hpp"
#include "cache/jsonb_check.hpp"
#include "cache/l2_format.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

#include <algorithm>
#include <ctime>

namespace ai_scale::cache {

namespace {

// Valid in the server encoding, without NUL bytes (pg_verifymbstr rejects those too), as every
// jsonb string Postgres makes is.
bool string_in_server_encoding(const char* s, size_t len)
{
    return pg_verifymbstr(s, int(len), true);
}

} // namespace

uint64_t unix_ms()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

word encode_l2_value(const Jsonb* output, uint64_t expires_unix_ms)
{
    const char* payload = VARDATA_ANY(output);
    const size_t len = VARSIZE_ANY_EXHDR(output);
    return word(l2_header(payload, len, expires_unix_ms), std::string_view(payload, len));
}

bool fits_in_redis(const Jsonb* output)
{
    return VARSIZE_ANY(output) <= redis_value_limit();
}

size_t redis_value_limit()
{
    return std::min(max_output_bytes, size_t(guc::redis_max_value_bytes));
}

Jsonb* decode_l2_value(const std::string& value, uint64_t* expires_unix_ms)
{
    l2_payload p;
    if (!unwrap_l2_payload(value, &p))
        return nullptr;
    if (!jsonb_binary_valid(p.data, p.len, string_in_server_encoding)) {
        // Not something a Postgres wrote: worth one line in the server log per backend.
        static bool logged = false;
        if (!logged) {
            logged = true;
            pg::call([] {
                ereport(LOG, (errhidestmt(true), errhidecontext(true),
                              errmsg("ai_scale: a value in Redis under an ai_scale key is not a "
                                     "well-formed jsonb; it is treated as a miss"),
                              errdetail("Its checksum matched, so it was written on purpose, "
                                        "not damaged in transit. Later ones are not logged "
                                        "by this backend.")));
            });
        }
        return nullptr;
    }
    *expires_unix_ms = p.expires_unix_ms;
    Jsonb* out = nullptr;
    pg::call([&] { out = static_cast<Jsonb*>(palloc(VARHDRSZ + p.len)); });
    SET_VARSIZE(out, VARHDRSZ + p.len);
    memcpy(VARDATA(out), p.data, p.len);
    return out;
}

} // namespace ai_scale::cache
