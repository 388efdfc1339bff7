#include "core/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace sbiw {

std::string blasKernelName() {
    // Looked up at run time: the BLAS behind LibTorch is whatever the system provides.
    using CoreName = char* (*)();
    const auto coreName = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const char* name = coreName ? coreName() : nullptr;
    return name ? std::string(name) : std::string();
}

void restartWithFastBlasKernelsIfNeeded(char** argv) {
    if (std::getenv("OPENBLAS_CORETYPE") || !argv || !argv[0])
        return;
    const std::string kernels = blasKernelName();
    if (kernels != "Prescott" && kernels != "prescott")
        return;
#if defined(__x86_64__) || defined(__i386__)
    const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                         : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                           : nullptr;
    if (!better)
        return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");  // execv returned: it failed; go on with the generic kernels
#endif
}

}  // namespace sbiw
