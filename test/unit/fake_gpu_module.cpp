// A shared library that looks like ai_scale_gpu.so to dlsym but must be refused by the loader:
// it reports FAKE_ABI_VERSION and has none of the other entry points.
extern "C" int ai_scale_gpu_abi_version(void)
{
    return FAKE_ABI_VERSION;
}
