#pragma once
// Memory hints for large, freshly allocated result buffers.

#include <cstddef>

namespace sbiw {

// Asks the kernel to back [data, data + bytes) with transparent huge pages where it can.
// Filling a fresh multi-megabyte batch otherwise takes one page fault per 4 KiB, which cost more
// than the simulations themselves for fast simulators (e.g. one fault per gw_chirp simulation).
// A no-op for small buffers and on systems without madvise(MADV_HUGEPAGE).
void adviseHugePages(void* data, std::size_t bytes);

}  // namespace sbiw
