// The bound on a backend's compiled models: an LRU of values keyed by name and version, each
// with its size in bytes. Inserting past the limit drops the least recently used entries until
// the total fits again, but never the entry just inserted, so one model larger than the limit
// is still kept while it is the one in use. Pure C++ (no Postgres headers).
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace ai_scale::scoring {

template <typename V> class model_lru {
  public:
    // The value under key, now the most recently used; nullptr when there is none.
    const V* find(const std::string& key)
    {
        auto it = index_.find(key);
        if (it == index_.end())
            return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->value;
    }

    // Inserts key (or returns the value already there, untouched), then drops the least
    // recently used others while the total exceeds limit_bytes. *dropped (when given) counts
    // the entries dropped.
    const V& insert(const std::string& key, V value, size_t bytes, size_t limit_bytes,
                    size_t* dropped = nullptr)
    {
        if (dropped != nullptr)
            *dropped = 0;
        if (const V* there = find(key))
            return *there;
        order_.push_front(entry{key, std::move(value), bytes});
        index_.emplace(key, order_.begin());
        bytes_ += bytes;
        while (bytes_ > limit_bytes && order_.size() > 1) {
            const entry& last = order_.back();
            bytes_ -= last.bytes;
            index_.erase(last.key);
            order_.pop_back();
            if (dropped != nullptr)
                ++*dropped;
        }
        return order_.front().value;
    }

    // Drops key, if there.
    void erase(const std::string& key)
    {
        auto it = index_.find(key);
        if (it == index_.end())
            return;
        bytes_ -= it->second->bytes;
        order_.erase(it->second);
        index_.erase(it);
    }

    void clear()
    {
        index_.clear();
        order_.clear();
        bytes_ = 0;
    }

    size_t size() const { return order_.size(); }
    size_t bytes() const { return bytes_; }

  private:
    struct entry {
        std::string key;
        V value;
        size_t bytes;
    };
    std::list<entry> order_; // most recently used first
    std::unordered_map<std::string, typename std::list<entry>::iterator> index_;
    size_t bytes_ = 0;
};

} // namespace ai_scale::scoring
