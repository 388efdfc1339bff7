/* The cheapest possible external simulator: x = θ + seed-derived offset in [0, 1). It measures
 * the protocol's own cost (bench/bench_external). `--binary` selects the binary framing;
 * `--dimension D` sets the parameter and data dimension (default 2). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    int binary = 0, dim = 2;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--binary") == 0) binary = 1;
        if (strcmp(argv[i], "--dimension") == 0 && i + 1 < argc) dim = atoi(argv[++i]);
    }
    if (dim < 1 || dim > 256) return 2;
    printf("sbiw-simulator 1\nparameters");
    for (int j = 0; j < dim; ++j) printf(" p%d", j + 1);
    printf("\ndata %d\nframing %s\nready\n", dim, binary ? "binary" : "text");
    fflush(stdout);
    static char line[65536];
    double theta[256];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "quit", 4) == 0) break;
        long rows = 0;
        if (sscanf(line, "batch %ld", &rows) != 1) return 2;
        for (long i = 0; i < rows; ++i) {
            uint64_t seed = 0;
            if (binary) {
                if (fread(&seed, 8, 1, stdin) != 1 || fread(theta, 8, (size_t)dim, stdin) != (size_t)dim) return 3;
                const double offset = (double)(seed >> 11) * 0x1.0p-53;
                for (int j = 0; j < dim; ++j) theta[j] += offset;
                fwrite(theta, 8, (size_t)dim, stdout);
            } else {
                if (!fgets(line, sizeof line, stdin)) return 3;
                char* p = line;
                seed = strtoull(p, &p, 10);
                const double offset = (double)(seed >> 11) * 0x1.0p-53;
                for (int j = 0; j < dim; ++j) printf(j ? " %.17g" : "%.17g", strtod(p, &p) + offset);
                putchar('\n');
            }
        }
        if (!binary) printf("end\n");
        fflush(stdout);
    }
    return 0;
}
