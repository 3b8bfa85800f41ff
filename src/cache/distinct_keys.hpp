// The distinct keys of a batch, numbered in the order they first appear, so that a batch
// looks each up once and answers every copy with that lookup (cache_get_many, predict_batch).
// Pure C++: an open-addressing table of 32-bit numbers over the keys themselves, which are
// already hash bits; a million distinct keys take 16 MB for their keys and at most 16 MB for
// the table, where a std::unordered_map took about 56 MB.
#pragma once

#include "cache/l1_table.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ai_scale::cache {

class distinct_keys {
  public:
    // Sized for up to expected distinct keys without growing (more are taken all the same).
    explicit distinct_keys(std::size_t expected);

    // The number of k among the distinct keys: the number it was given when first added, or
    // the next one (size() before the call) for a new key.
    uint32_t add(const key128& k);

    std::size_t size() const { return keys_.size(); }
    // The distinct keys, key n at [n].
    const std::vector<key128>& keys() const { return keys_; }

    // Frees the table (add must not be called after); keys() stays.
    void release_table();

  private:
    void grow();

    std::vector<key128> keys_;
    std::vector<uint32_t> slots_; // 0: empty; else the key's number + 1
    std::size_t mask_ = 0;
};

} // namespace ai_scale::cache
