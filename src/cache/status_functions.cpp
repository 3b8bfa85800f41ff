// node_role() and redis_status(): what this server is, and how each Redis endpoint is doing.
#include "cache/breaker_registry.hpp"
#include "cache/error_text.hpp"
#include "cache/redis_client.hpp"
#include "cache/replica_check.hpp"
#include "cache/router.hpp"
#include "cache/sentinel.hpp"
#include "guc.hpp"
#include "pg/guard.hpp"

#include <hiredis/hiredis.h>

extern "C" {
#include "access/xlog.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace ai_scale;
using namespace ai_scale::cache;

// node_role() -> 'primary' | 'standby' (a server in recovery, e.g. a hot standby).
AI_SCALE_FUNCTION(ai_scale_node_role)
{
    PG_RETURN_TEXT_P(cstring_to_text(RecoveryInProgress() ? "standby" : "primary"));
}

namespace {

// The role a data node reports in INFO replication, for redis_status: primary, or replica with
// its link and, when out of sync, why (judged against the primary's INFO, kept in primary_info
// when this is the primary). In ASCII (ascii_text): what the node says is bytes, and taken as
// they came, a role outside ASCII was invalid text in the database (TAP 169).
std::string reported_role(const std::string& info, bool is_primary,
                          std::optional<std::string>& primary_info)
{
    std::string role = redis_info_field(info, "role");
    if (role == "master")
        role = "primary";
    if (role == "slave")
        role = "replica";
    if (is_primary)
        primary_info = info;
    std::string link = redis_info_field(info, "master_link_status");
    if (!is_primary && role == "primary" &&
        judge_replica(info, primary_info, replica_max_lag_bytes()).verdict ==
            replica_verdict::not_replica)
        role += " (not a replica)";
    if (!link.empty()) {
        auto state = judge_replica(info, primary_info, replica_max_lag_bytes());
        role += " (link " + link;
        if (state.verdict == replica_verdict::lagging)
            role += ", " + std::to_string(*state.lag_bytes / 1024) + " kB behind";
        else if (state.verdict != replica_verdict::in_sync &&
                 state.verdict != replica_verdict::link_down)
            role += std::string(", ") + replica_verdict_name(state.verdict);
        role += ")";
    }
    return ascii_text(role);
}

// What a sentinel endpoint's row says as its role: what it names as the primary, or why not.
std::string sentinel_role(const std::string& address)
{
    redis_topology told;
    switch (ask_sentinel(address, &told)) {
    case sentinel_answer::skipped:
        break;
    case sentinel_answer::unreachable: {
        const std::string last_error =
            breaker_snapshot(breaker_for(address, endpoint_kind::sentinel)).last_error;
        // It answered, refusing SENTINEL: a plain Redis named as a sentinel, say.
        if (refuses_command_only(last_error))
            return "not a sentinel (SENTINEL refused)";
        // A sentinel with a password (sentinel requirepass), which ai_scale does not send:
        // shown as a data node refusing its login is, not as one that does not answer.
        if (refuses_login(last_error))
            return "refusing authentication (sentinel passwords are not supported)";
        return "unreachable";
    }
    case sentinel_answer::unknown_master:
        return "sentinel (does not know \"" + std::string(guc::redis_sentinel_master) + "\")";
    case sentinel_answer::named:
        return "sentinel (primary at " + told.primary + ")";
    }
    return "unknown"; // its breaker is open
}

// One row of redis_status().
struct status_row {
    std::string endpoint, configured, role, breaker_state, last_error;
    int64_t last_error_at;
    uint32_t failures;
    uint64_t trips;
    double latency_ms;
};

// The row of one configured endpoint: its role asked live (a data node's INFO replication,
// judged against primary_info, the primary coming first; a sentinel's answer), unless its
// breaker is open, and its breaker as it stands after that probe.
status_row endpoint_status(const endpoint& ep, bool by_sentinel,
                           std::optional<std::string>& primary_info)
{
    std::string role = "unknown"; // its breaker is open
    std::string configured;
    bool skipped;
    bool probe_failed = false;
    if (ep.role == endpoint_role::sentinel) {
        configured = "sentinel";
        role = sentinel_role(ep.address);
    } else {
        configured = ep.role == endpoint_role::primary ? "primary" : "replica";
        if (by_sentinel)
            configured += " (named by sentinel)";
        if (auto replies = attempt(ep.address, {{"INFO", "replication"}}, &skipped))
            role = reported_role(reply_string((*replies)[0].get()).value_or(""),
                                 ep.role == endpoint_role::primary, primary_info);
        else
            probe_failed = !skipped;
    }
    // One snapshot, after the probe, for the row's breaker columns and its role.
    auto h = breaker_snapshot(breaker_for(ep.address, ep.role == endpoint_role::sentinel
                                                          ? endpoint_kind::sentinel
                                                          : endpoint_kind::data));
    if (probe_failed)
        // The probe's own connection refused at maxclients: the endpoint answers (the
        // breaker stays closed), it only takes no new connection. INFO itself refused (an
        // ACL user without it, or renamed by rename-command): the endpoint answers, and
        // may serve GET and SET, but says nothing of its role; a replica is then not read.
        // The login refused: the endpoint answers, but not to these credentials.
        role = refuses_connection(h.last_error)     ? "refusing new connections"
               : refuses_command_only(h.last_error) ? "unknown (INFO refused)"
               : refuses_login(h.last_error)        ? "refusing authentication"
                                                    : "unreachable";
    return {ep.address,
            configured,
            role,
            breaker::name(h.state.current),
            h.last_error,
            h.last_error_at,
            h.state.failures,
            h.state.trips,
            h.last_latency_ms};
}

// Returns the rows as redis_status()'s result set.
void put_status_rows(FunctionCallInfo fcinfo, const std::vector<status_row>& rows)
{
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& r : rows) {
        pg::call([&] {
            Datum values[9] = {CStringGetTextDatum(r.endpoint.c_str()),
                               CStringGetTextDatum(r.configured.c_str()),
                               CStringGetTextDatum(r.role.c_str()),
                               CStringGetTextDatum(r.breaker_state.c_str()),
                               Int32GetDatum(int32(r.failures)),
                               Int64GetDatum(int64(r.trips)),
                               CStringGetTextDatum(r.last_error.c_str()),
                               TimestampTzGetDatum(r.last_error_at),
                               Float8GetDatum(r.latency_ms)};
            bool nulls[9] = {};
            nulls[6] = nulls[7] = r.last_error.empty(); // last_error, last_error_at
            nulls[8] = r.latency_ms < 0;
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }
}

} // namespace

// redis_status() -> one row per endpoint: what it is configured as, the role it
// reports now (asked live, unless its breaker is open), its breaker, last error and latency.
AI_SCALE_FUNCTION(ai_scale_redis_status)
{
    std::vector<status_row> rows;
    std::optional<std::string> primary_info; // the primary comes first
    const bool by_sentinel = sentinel_enabled();
    // Before the probes, which connect to each endpoint: a session that only ever called
    // redis_status() (a monitoring one) kept a connection to every endpoint it had probed, 50
    // after 50 changes of redis_primary, or of the primary the sentinels name.
    close_unused_connections();
    for (const auto& ep : configured_endpoints())
        rows.push_back(endpoint_status(ep, by_sentinel, primary_info));
    put_status_rows(fcinfo, rows);
    return Datum(0);
}
