// The file that carries a server's unsent generation bumps across a restart, pure C++.
//
// A slot bumped while Redis was unreachable is marked in shared memory (generations.cpp), and the
// next sync raises Redis's counter past both the slot and the counter. Shared memory does not
// outlive the server: restarted before that sync, the server took Redis's counter, the generation
// the values cached before the invalidation were written under, and served them again. So the
// postmaster writes the marked slots to a file of the data directory when it exits or
// reinitialises after a crash, and marks them again when it makes shared memory; a backend writes
// the file too as it marks a slot, for a postmaster that is killed. So it does with the slots
// Redis took a bump of in the last minutes, which a Redis failover may yet lose, each with the
// generation the server used, which Redis's counter is raised past only where it is found below
// (generations.cpp, save_carried_slots).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ai_scale::cache::unsent_bumps {

// The file, in the data directory.
constexpr const char* file_name = "ai_scale_cache_unsent_bumps";

// A slot the file carries: marked unsent (generation 0), or bumped with Redis in the last minutes
// at that generation, which Redis's counter must not be found below (generations.cpp,
// carry_unsent_bumps).
struct carried {
    uint32_t slot;
    uint64_t generation;
    bool operator==(const carried& o) const { return slot == o.slot && generation == o.generation; }
};

// The most bytes a line of the file takes: "65535 18446744073709551615\n".
constexpr size_t max_line_bytes = 27;

// The file's text: a header line, each slot in ascending order on a line of its own (with its
// generation after a space, where it has one), and "end".
std::string format(const std::vector<carried>& slots);

// The slots of a file format wrote; nullopt for any other text (cut short, a slot out of range or
// out of order, anything after "end", another header).
std::optional<std::vector<carried>> parse(std::string_view text);

} // namespace ai_scale::cache::unsent_bumps
