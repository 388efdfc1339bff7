/* Two Moons as a native plugin (engine/plugin/sbiw_simulator_plugin.h). Same model and the same
 * per-row generator as two_moons_sim.c, so both give identical x for identical seeds. */
#include <math.h>
#include <stdio.h>

#include "sbiw_simulator_plugin.h"

static uint64_t next_bits(uint64_t* state) { /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform(uint64_t* state) { return ((double)(next_bits(state) >> 11) + 0.5) * 0x1.0p-53; }
static double normal(uint64_t* state) {
    const double u = uniform(state), v = uniform(state);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static const char* const names[] = {"parameter_1", "parameter_2"};
static const sbiw_plugin_info info = {SBIW_PLUGIN_ABI_VERSION, "two_moons (C plugin)", 2, names, 2};

const sbiw_plugin_info* sbiw_plugin_get_info(void) { return &info; }

int sbiw_plugin_simulate(const double* theta, const uint64_t* seeds, int64_t rows, double* x, int* row_failed,
                         char* error, size_t error_size) {
    const double s = 0.7071067811865476;
    int failures = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const double* t = theta + 2 * i;
        double* out = x + 2 * i;
        if (!isfinite(t[0]) || !isfinite(t[1])) {
            if (failures++ == 0) snprintf(error, error_size, "theta must be finite");
            row_failed[i] = 1;
            continue;
        }
        uint64_t state = seeds[i];
        const double a = (uniform(&state) - 0.5) * 3.141592653589793;
        const double r = 0.1 + 0.01 * normal(&state);
        out[0] = r * cos(a) + 0.25 - fabs(s * (t[0] + t[1]));
        out[1] = r * sin(a) + s * (t[1] - t[0]);
    }
    return 0;
}
