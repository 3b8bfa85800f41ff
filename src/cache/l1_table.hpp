// The L1 table's logic: a set-associative hash table over one flat block of memory, with TTL and
// CLOCK eviction inside each set. Pure C++ (no Postgres header): l1_shared.cpp places one in
// shared memory and guards each set with a striped LWLock; the unit tests drive it directly.
//
// The caller holds the lock that covers set_of(key): shared for find(), exclusive for the rest.
// find() only touches an entry's reference bit, which is atomic, so readers never write plain
// memory another reader could see half-done.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ai_scale::cache {

struct key128 {
    uint64_t hi = 0;
    uint64_t lo = 0;
    bool operator==(const key128& o) const { return hi == o.hi && lo == o.lo; }
};

// For unordered containers keyed by cache key (the bits are already a hash).
struct key128_hash {
    size_t operator()(const key128& k) const { return size_t(k.lo ^ k.hi); }
};

class l1_table {
  public:
    static constexpr uint32_t ways = 8;

    // Bytes a table of at least `entries` entries holding values up to `value_bytes` needs.
    static std::size_t bytes_needed(uint32_t entries, uint32_t value_bytes);

    // Lays out a new, empty table in `mem` (bytes_needed() bytes, 8-byte aligned).
    static l1_table* create(void* mem, uint32_t entries, uint32_t value_bytes);

    uint32_t sets() const { return n_sets_; }
    uint32_t capacity() const { return n_sets_ * ways; }
    uint32_t value_bytes() const { return value_bytes_; }
    uint32_t set_of(const key128& k) const { return uint32_t(k.lo % n_sets_); }

    // The value stored for k and not expired at now_ms, or nullptr; *len gets its length.
    const uint8_t* find(const key128& k, uint64_t now_ms, uint32_t* len);

    // What put() does when k already has a value that has not expired.
    enum class put_mode {
        replace,   // replaces it (a cache_put)
        if_absent, // keeps it, stores nothing (a fill from a lower level, which may be older)
    };

    // Stores a copy of value until expires_ms; false (nothing stored) when len > value_bytes()
    // or expires_ms <= now_ms, and k's old value is then removed: it must not answer for the
    // value that replaced it. Replaces k's old value (if_absent: false when k has one alive,
    // which stays); otherwise takes an empty or expired way, else evicts by CLOCK.
    bool put(const key128& k, const void* value, uint32_t len, uint64_t now_ms, uint64_t expires_ms,
             put_mode mode = put_mode::replace);

    bool erase(const key128& k);
    // For the unit tests: clear() empties the table; count() gives its live entries, taking no
    // lock.
    void clear();
    uint32_t count(uint64_t now_ms) const;

  private:
    struct entry {
        key128 key;
        uint64_t expires_ms; // 0: empty
        uint32_t len;
        std::atomic<uint8_t> referenced;
    };

    entry* entries() { return reinterpret_cast<entry*>(this + 1); }
    const entry* entries() const { return reinterpret_cast<const entry*>(this + 1); }
    uint8_t* value_of(uint32_t index);
    int slot_of(uint32_t set, const key128& k);

    // One CLOCK hand per set, in [0, ways); stored after the entries. Offsets, not pointers, so
    // the table means the same in every process that maps it.
    uint8_t* hands();

    uint32_t n_sets_;
    uint32_t value_bytes_;
};

} // namespace ai_scale::cache
