#include "cache/sentinel_view.hpp"
#include "cache/endpoint_address.hpp"

namespace ai_scale::cache {

namespace {

std::string field(const sentinel_fields& fields, const char* name)
{
    for (const auto& [k, v] : fields)
        if (k == name)
            return v;
    return "";
}

bool has_flag(const std::string& flags, const std::string& flag)
{
    size_t at = 0;
    while (at <= flags.size()) {
        size_t end = flags.find(',', at);
        if (end == std::string::npos)
            end = flags.size();
        if (flags.compare(at, end - at, flag) == 0)
            return true;
        at = end + 1;
    }
    return false;
}

// A host outside printable ASCII is refused too: the address is shown as text (redis_status(),
// the breakers' log lines) in databases of every server encoding, and its bytes, taken as they
// came, failed there ("invalid byte sequence for encoding "EUC_JP"" from a UTF-8 name).
std::optional<std::string> address(const std::string& ip, const std::string& port)
{
    int unused;
    if (ip.empty() || !parse_port(port, &unused) || !host_bytes_allowed(ip))
        return std::nullopt;
    // An IPv6 address in brackets: "::1:6379" was no endpoint anyone could read back.
    return endpoint_text(ip, port);
}

} // namespace

std::optional<std::string> sentinel_primary(const std::vector<std::string>& ip_and_port)
{
    if (ip_and_port.size() != 2)
        return std::nullopt;
    return address(ip_and_port[0], ip_and_port[1]);
}

std::optional<std::string> sentinel_usable_replica(const sentinel_fields& fields)
{
    const std::string flags = field(fields, "flags");
    for (const char* bad : {"s_down", "o_down", "disconnected"})
        if (has_flag(flags, bad))
            return std::nullopt;
    if (field(fields, "master-link-status") != "ok")
        return std::nullopt;
    return address(field(fields, "ip"), field(fields, "port"));
}

} // namespace ai_scale::cache
