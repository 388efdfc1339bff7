/* SBI Workbench native simulator plugins: the C ABI, version 1.
 *
 * A plugin is a shared library (.so, .dylib, .dll) that exports the two functions below with C
 * linkage. It is the fastest way to attach a simulator written in C, C++, Fortran or Rust: no
 * process, no copying through pipes. Plain C, so any compiler can build a plugin; include this
 * header from C or C++ and define the functions.
 *
 * A project uses it with  "simulator": {"kind": "plugin", "library": "libmine.so",
 * "data_dimension": D}  (the path relative to the project file). Like external programs, a
 * plugin runs only after the user trusted exactly that library file.
 *
 * Thread safety: sbiw_simulate is called concurrently from several threads, each with its own
 * rows: keep no mutable global state (or guard it).
 * Reproducibility: simulate row i from seeds[i] alone (e.g. seed your generator with it);
 * the workbench derives the seed from the run's seed and the simulation's index, so results do
 * not depend on threads or batch sizes. */
#ifndef SBIW_SIMULATOR_PLUGIN_H
#define SBIW_SIMULATOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define SBIW_PLUGIN_ABI_VERSION 1

#if defined(_WIN32)
#define SBIW_PLUGIN_EXPORT __declspec(dllexport)
#else
#define SBIW_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbiw_plugin_info {
    int abi_version;                     /* SBIW_PLUGIN_ABI_VERSION the plugin was built with */
    const char* name;                    /* shown in messages, e.g. "two_moons (C plugin)" */
    int parameter_dimension;             /* k */
    const char* const* parameter_names;  /* k names, in the order of theta; must match the project */
    int data_dimension;                  /* D: values per simulation */
} sbiw_plugin_info;

/* Static information; the pointer must stay valid while the library is loaded. */
SBIW_PLUGIN_EXPORT const sbiw_plugin_info* sbiw_plugin_get_info(void);

/* Simulates `rows` simulations.
 *   theta       rows x k parameter values, row-major
 *   seeds       rows 64-bit seeds, one per row
 *   x           rows x D outputs to write, row-major (NaN or inf are allowed: they are reported)
 *   row_failed  rows flags, all 0 on entry: set row_failed[i] = 1 for a row that cannot be
 *               simulated, and describe the first such row in `error`
 *   error       error_size bytes for a NUL-terminated message
 * Returns 0, or nonzero when nothing could be simulated (then `error` says why). */
SBIW_PLUGIN_EXPORT int sbiw_plugin_simulate(const double* theta, const uint64_t* seeds, int64_t rows, double* x,
                                            int* row_failed, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* SBIW_SIMULATOR_PLUGIN_H */
