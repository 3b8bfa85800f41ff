// The per-backend cache of compiled models, filled from ai_scale.models on first use and
// emptied whenever that table changes (a trigger on it sends a relcache invalidation, which
// reaches every backend at commit and this one at its next command).
#pragma once

#include "scoring/extract.hpp"
#include "scoring/gpu_offload.hpp"
#include "scoring/model.hpp"

#include <cstdint>
#include <string>

namespace ai_scale::scoring
{

struct loaded_model {
    std::string name;
    int32_t version;
    compiled_model model;
    feature_extractor extractor;
    gpu_offload::model_ref ref;

    loaded_model(std::string name, int32_t version, compiled_model m);
};

// Bumped by every invalidation of ai_scale.models; a cached pointer is valid while it holds.
uint64_t catalog_generation();

// The model `name` at `version` (< 0: its active version). Raises 42704 when there is none.
// The reference stays valid until catalog_generation() changes.
const loaded_model& lookup_model(const std::string& name, int32_t version);

} // namespace ai_scale::scoring
