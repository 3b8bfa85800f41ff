// Any two INFO replies, as a broken or hostile Redis could send them: judging the replica never
// crashes, a lag is reported only when the histories matched and is never negative, and a
// replica is condemned for lag only beyond the limit.
#include "cache/replica_check.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <string>

using namespace ai_scale::cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    // The first byte picks the limit and where the two replies split.
    const int64_t limits[] = {-1, 0, 1, 1024, int64_t(16) << 20};
    const int64_t max_lag = limits[data[0] % 5];
    const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const size_t cut = rest.find('\0');
    const std::string replica = rest.substr(0, cut);
    const std::optional<std::string> primary =
        cut == std::string::npos ? std::nullopt : std::optional<std::string>(rest.substr(cut + 1));

    replica_state state = judge_replica(replica, primary, max_lag);
    check(replica_verdict_name(state.verdict) != nullptr);
    if (state.lag_bytes) {
        check(*state.lag_bytes >= 0);
        check(primary.has_value() && max_lag >= 0);
        check((state.verdict == replica_verdict::lagging) == (*state.lag_bytes > max_lag));
    }
    if (state.verdict == replica_verdict::lagging)
        check(state.lag_bytes.has_value());
    if (!primary || max_lag < 0)
        check(state.verdict != replica_verdict::lagging &&
              state.verdict != replica_verdict::other_primary);
    (void)redis_info_field(replica, "master_replid");
    return 0;
}
