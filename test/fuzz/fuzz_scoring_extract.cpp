// Arbitrary bytes as a jsonb root container: extraction must never read out of bounds,
// whatever the entries, offsets and numerics claim. The first byte picks the feature set.
// An extractor remembers the keys of the object it read last; one that has read nothing must
// find the same as the one that has read every input before.
#include "scoring/extract.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace ai_scale::scoring;

namespace {

feature_extractor make_strict()
{
    return feature_extractor({"a", "b", "cc", "long_feature"}, {NAN, 1, NAN, NAN}, false);
}

feature_extractor make_gbdt()
{
    return feature_extractor({"", "a", "zz", "k1", "k10"}, {}, true);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const feature_extractor strict = make_strict();
    static const feature_extractor gbdt = make_gbdt();
    if (size < 1)
        return 0;
    const bool pick_gbdt = (data[0] & 1) != 0;
    const feature_extractor& fx = pick_gbdt ? gbdt : strict;
    std::vector<uint8_t> copy(data + 1, data + size); // exact-size heap buffer for ASan
    std::vector<float> row(size_t(fx.width()));
    const feature_extractor::result r = fx.extract(copy.data(), copy.size(), row.data());

    const feature_extractor fresh = pick_gbdt ? make_gbdt() : make_strict();
    std::vector<float> fresh_row(row.size());
    const feature_extractor::result f = fresh.extract(copy.data(), copy.size(), fresh_row.data());
    if (r.st != f.st || r.feature != f.feature ||
        memcmp(row.data(), fresh_row.data(), row.size() * sizeof(float)) != 0)
        abort();

    double v;
    decode_numeric(copy.data(), copy.size(), &v);
    float x;
    decode_numeric_float(copy.data(), copy.size(), &x);
    return 0;
}
