// A shared library that looks like ai_scale_gpu.so to dlsym but must be refused by the loader:
// it reports FAKE_ABI_VERSION and has none of the other entry points. Each load appends a line
// to the file AI_SCALE_FAKE_GPU_LOADS names, when set (TAP 295 counts the loads).
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace {

__attribute__((constructor)) void count_load()
{
    const char* path = getenv("AI_SCALE_FAKE_GPU_LOADS");
    if (path == nullptr || path[0] == '\0')
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        return;
    const char line[] = "loaded\n";
    if (write(fd, line, strlen(line)) < 0) {
    }
    close(fd);
}

} // namespace

extern "C" int ai_scale_gpu_abi_version(void)
{
    return FAKE_ABI_VERSION;
}
