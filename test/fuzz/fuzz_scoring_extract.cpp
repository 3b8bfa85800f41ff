// Arbitrary bytes as a jsonb root container: extraction must never read out of bounds,
// whatever the entries, offsets and numerics claim. The first byte picks the feature set.
#include "scoring/extract.hpp"

#include <cmath>
#include <cstring>
#include <vector>

using namespace ai_scale::scoring;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const feature_extractor strict({"a", "b", "cc", "long_feature"}, {NAN, 1, NAN, NAN},
                                          false);
    static const feature_extractor gbdt({"", "a", "zz", "k1", "k10"}, {}, true);
    if (size < 1)
        return 0;
    const feature_extractor& fx = (data[0] & 1) ? gbdt : strict;
    std::vector<uint8_t> copy(data + 1, data + size); // exact-size heap buffer for ASan
    std::vector<float> row(size_t(fx.width()));
    fx.extract(copy.data(), copy.size(), row.data());
    double v;
    decode_numeric(copy.data(), copy.size(), &v);
    float f;
    decode_numeric_float(copy.data(), copy.size(), &f);
    return 0;
}
