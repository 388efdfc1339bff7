/* Two Moons as an external simulator for SBI Workbench (docs/simulator-protocol.md).
 *
 *   two_moons_sim            text framing (one line per row)
 *   two_moons_sim --binary   binary framing (little-endian doubles)
 *
 * Standard C only. Each row brings its own 64-bit seed, so results do not depend on which
 * process (or how many) simulated it. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a tiny generator that is good enough when seeded per row. */
static uint64_t next_bits(uint64_t* state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform(uint64_t* state) { /* (0, 1) */
    return ((double)(next_bits(state) >> 11) + 0.5) * 0x1.0p-53;
}
static double normal(uint64_t* state) { /* Box-Muller */
    const double u = uniform(state), v = uniform(state);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void simulate(const double* theta, uint64_t seed, double* x) {
    uint64_t state = seed;
    const double a = (uniform(&state) - 0.5) * 3.141592653589793; /* U(-pi/2, pi/2) */
    const double r = 0.1 + 0.01 * normal(&state);
    const double s = 0.7071067811865476;
    x[0] = r * cos(a) + 0.25 - fabs(s * (theta[0] + theta[1]));
    x[1] = r * sin(a) + s * (theta[1] - theta[0]);
}

int main(int argc, char** argv) {
    const int binary = argc > 1 && strcmp(argv[1], "--binary") == 0;
    printf("sbiw-simulator 1\nparameters parameter_1 parameter_2\ndata 2\nframing %s\nready\n",
           binary ? "binary" : "text");
    fflush(stdout);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "quit", 4) == 0) break;
        long rows = 0;
        if (sscanf(line, "batch %ld", &rows) != 1) {
            fprintf(stderr, "two_moons_sim: unexpected request line: %s", line);
            return 2;
        }
        for (long i = 0; i < rows; ++i) {
            uint64_t seed = 0;
            double theta[2], x[2];
            if (binary) {
                if (fread(&seed, 8, 1, stdin) != 1 || fread(theta, 8, 2, stdin) != 2) return 3;
            } else if (!fgets(line, sizeof line, stdin) ||
                       sscanf(line, "%" SCNu64 " %lf %lf", &seed, &theta[0], &theta[1]) != 3) {
                fprintf(stderr, "two_moons_sim: bad row: %s", line);
                return 3;
            }
            simulate(theta, seed, x);
            if (binary)
                fwrite(x, 8, 2, stdout);
            else
                printf("%.17g %.17g\n", x[0], x[1]);
        }
        if (!binary) printf("end\n");
        fflush(stdout); /* the answer must leave before we wait for the next request */
    }
    return 0;
}
