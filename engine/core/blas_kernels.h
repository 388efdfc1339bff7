#pragma once
// OpenBLAS, the BLAS under Debian's LibTorch, picks its kernels by CPU model when the library
// loads. Debian 12's OpenBLAS 0.3.21 does not know newer Xeons (a Sapphire Rapids VM that calls
// itself "Intel(R) Xeon(R) Processor") and falls back to its generic "Prescott" kernels: SNPE's
// training on bernoulli_glm ran 2.2x slower than with the AVX-512 ones (docs/BENCHMARKS.md).
// OPENBLAS_CORETYPE overrides the choice, but is read only as the library loads, before main().

#include <string>

namespace sbiw {

// The kernels OpenBLAS uses ("SkylakeX", "Haswell", "Prescott", ...), or "" when the BLAS in
// this process is not OpenBLAS.
std::string blasKernelName();

// Call first thing in main(): when OpenBLAS fell back to its generic kernels on a CPU with
// AVX-512 or AVX2, starts this program again (same arguments, same process id) with
// OPENBLAS_CORETYPE naming the matching kernels. Does nothing when OPENBLAS_CORETYPE is set
// already (the user's choice, or the second start), when the kernels are not the generic ones,
// or when restarting fails.
void restartWithFastBlasKernelsIfNeeded(char** argv);

}  // namespace sbiw
