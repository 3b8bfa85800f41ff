// The file that carries a server's unsent generation bumps across a restart, pure C++.
//
// A slot bumped while Redis was unreachable is marked in shared memory (key.cpp), and the next
// sync raises Redis's counter past both the slot and the counter. Shared memory does not outlive
// the server: restarted before that sync, the server took Redis's counter, the generation the
// values cached before the invalidation were written under, and served them again. So the
// postmaster writes the marked slots to a file of the data directory when it exits or
// reinitialises after a crash, and marks them again when it makes shared memory. So it does with
// the slots Redis took a bump of in the last minutes, which a Redis failover may yet lose
// (key.cpp, save_unsent_bumps).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ai_scale::cache::unsent_bumps {

// The file, in the data directory.
constexpr const char* file_name = "ai_scale_cache_unsent_bumps";

// The file's text: a header line, each slot in ascending order on a line of its own, and "end".
std::string format(const std::vector<uint32_t>& slots);

// The slots of a file format wrote; nullopt for any other text (cut short, a slot out of range
// or out of order, anything after "end").
std::optional<std::vector<uint32_t>> parse(std::string_view text);

} // namespace ai_scale::cache::unsent_bumps
