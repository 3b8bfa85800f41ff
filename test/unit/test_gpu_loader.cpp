// The loader against files that must be refused, and against the real module when it was
// built: on a machine without a GPU it must answer NO_DRIVER / NO_DEVICE, not crash.
#include "scoring/gpu_loader.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace loader = ai_scale::scoring::gpu_loader;

TEST(GpuLoader, ExpandsLibdir)
{
    EXPECT_EQ(loader::resolve_path("$libdir/ai_scale_gpu.so", "/usr/lib/pg"),
              "/usr/lib/pg/ai_scale_gpu.so");
    EXPECT_EQ(loader::resolve_path("/opt/x.so", "/usr/lib/pg"), "/opt/x.so");
    EXPECT_EQ(loader::resolve_path("lib$libdir.so", "/usr/lib/pg"), "lib$libdir.so");
}

TEST(GpuLoader, RefusesAMissingFile)
{
    std::string why;
    EXPECT_EQ(loader::open("/nonexistent/ai_scale_gpu.so", &why), nullptr);
    EXPECT_EQ(why, "GPU module \"/nonexistent/ai_scale_gpu.so\" not found");
}

TEST(GpuLoader, RefusesAFileThatIsNotALibrary)
{
    std::string path = ::testing::TempDir() + "not_a_library.so";
    std::ofstream(path) << "not an ELF file\n";
    std::string why;
    EXPECT_EQ(loader::open(path, &why), nullptr);
    EXPECT_EQ(why.rfind("could not load GPU module \"" + path + "\": ", 0), 0u) << why;
    std::remove(path.c_str());
}

TEST(GpuLoader, RefusesAnotherAbiVersion)
{
    std::string why;
    EXPECT_EQ(loader::open(FAKE_GPU_MODULE_ABI999, &why), nullptr);
    EXPECT_NE(why.find("has ABI version 999, this ai_scale needs 2"), std::string::npos) << why;
}

TEST(GpuLoader, RefusesAModuleWithoutItsEntryPoints)
{
    std::string why;
    EXPECT_EQ(loader::open(FAKE_GPU_MODULE_PARTIAL, &why), nullptr);
    EXPECT_NE(why.find("lacks an entry point"), std::string::npos) << why;
}

TEST(GpuLoader, StatusTexts)
{
    EXPECT_STREQ(loader::status_text(AI_SCALE_GPU_NO_DEVICE), "no CUDA device");
    EXPECT_STREQ(loader::status_text(AI_SCALE_GPU_OUT_OF_MEMORY), "out of GPU memory");
    EXPECT_STREQ(loader::status_text(-99), "unknown GPU module status");
}

#ifdef AI_SCALE_GPU_MODULE
TEST(GpuModule, LoadsAndAnswersWithoutADevice)
{
    std::string why;
    const loader::api* m = loader::open(AI_SCALE_GPU_MODULE, &why);
    ASSERT_NE(m, nullptr) << why;
    EXPECT_EQ(loader::open(AI_SCALE_GPU_MODULE, &why), m); // opened once
    EXPECT_EQ(m->abi_version(), AI_SCALE_GPU_ABI_VERSION);

    int n = m->init();
    std::vector<ai_scale_gpu_device> devs(8);
    float w[2] = {0.5f, -1.0f}, rows[4] = {1, 2, 3, 4}, out[2] = {0, 0};
    ai_scale_gpu_model model{};
    model.name = "t";
    model.kind = AI_SCALE_GPU_LINEAR;
    model.n_features = 2;
    model.n_outputs = 1;
    model.linear_weights = w;
    if (n <= 0) {
        // This machine: no driver or no device, reported as such with a message.
        EXPECT_TRUE(n == AI_SCALE_GPU_NO_DRIVER || n == AI_SCALE_GPU_NO_DEVICE) << n;
        EXPECT_STRNE(m->last_error(), "");
        EXPECT_EQ(m->describe(devs.data(), 8), n);
        EXPECT_EQ(m->score(&model, rows, 2, out, nullptr), n);
        auto fill = [](void*, int64_t, int64_t, float*) { return 0; };
        EXPECT_EQ(m->score_fill(&model, 2, fill, nullptr, out, nullptr), n);
        m->release();
    } else {
        ASSERT_GT(m->describe(devs.data(), 8), 0);
        ASSERT_EQ(m->score(&model, rows, 2, out, nullptr), AI_SCALE_GPU_OK) << m->last_error();
        EXPECT_FLOAT_EQ(out[0], -1.5f);
        EXPECT_FLOAT_EQ(out[1], -2.5f);
    }
    // Bad arguments are refused before anything else, device or not.
    EXPECT_EQ(m->score(nullptr, rows, 2, out, nullptr), AI_SCALE_GPU_BAD_ARGUMENT);
    EXPECT_EQ(m->describe(nullptr, 1), AI_SCALE_GPU_BAD_ARGUMENT);
    EXPECT_STRNE(m->last_error(), "");
}
#endif
