/* A simulator that misbehaves on purpose (tests/simulators/test_external_program.cpp).
 * Two parameters, data dimension 2, text framing; x = θ + u with u = (seed >> 11) / 2^53.
 * argv[1] picks the fault, which strikes at rows with θ1 > 0.5 unless said otherwise:
 *   good, crash (segfault), hang, garbage, wrong-dimension, nan, error, slow (20 ms a row),
 *   chatty (an extra stdout line per batch), stderr (a log line per batch),
 *   crash-once FILE (segfaults on its first row ever: creates FILE, later processes behave),
 *   declare-3 (handshake says data 3), no-handshake, exit-at-start, slow-start (10 s before its
 *   handshake), ignore-quit (never exits by itself: neither "quit" nor the end of input; 5 ms a
 *   row, so that parallel requests overlap and each thread starts a child of its own). */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "good";
    if (strcmp(mode, "exit-at-start") == 0) {
        fprintf(stderr, "ModuleNotFoundError: No module named 'numpyy'\n");
        return 1;
    }
    if (strcmp(mode, "no-handshake") == 0) {
        printf("Hello, I am a simulator\n");
        fflush(stdout);
        for (;;) pause();
    }
    if (strcmp(mode, "slow-start") == 0) sleep(10);
    printf("sbiw-simulator 1\nparameters a b\ndata %d\nready\n", strcmp(mode, "declare-3") == 0 ? 3 : 2);
    fflush(stdout);
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "quit", 4) == 0) break;
        if (strcmp(mode, "ignore-quit") == 0) signal(SIGTERM, SIG_IGN);
        long rows = 0;
        if (sscanf(line, "batch %ld", &rows) != 1) return 2;
        if (strcmp(mode, "stderr") == 0) fprintf(stderr, "simulating %ld rows\n", rows);
        for (long i = 0; i < rows; ++i) {
            uint64_t seed = 0;
            double a = 0, b = 0;
            if (!fgets(line, sizeof line, stdin) || sscanf(line, "%" SCNu64 " %lf %lf", &seed, &a, &b) != 3) return 3;
            const double u = (double)(seed >> 11) * 0x1.0p-53;
            const int strike = a > 0.5;
            if (strcmp(mode, "crash-once") == 0 && first && argc > 2 && access(argv[2], F_OK) != 0) {
                FILE* marker = fopen(argv[2], "w");
                if (marker) fclose(marker);
                fprintf(stderr, "crashing once\n");
                *(volatile int*)0 = 1;
            }
            first = 0;
            if (strike && strcmp(mode, "crash") == 0) {
                fprintf(stderr, "about to crash at a = %g\n", a);
                *(volatile int*)0 = 1;
            }
            if (strike && strcmp(mode, "hang") == 0)
                for (;;) pause();
            if (strcmp(mode, "slow") == 0) usleep(20000);
            if (strcmp(mode, "ignore-quit") == 0) usleep(5000);
            if (strike && strcmp(mode, "garbage") == 0)
                printf("hello world\n");
            else if (strike && strcmp(mode, "wrong-dimension") == 0)
                printf("%.17g %.17g %.17g\n", a + u, b + u, 0.0);
            else if (strike && strcmp(mode, "nan") == 0)
                printf("nan %.17g\n", b + u);
            else if (strike && strcmp(mode, "error") == 0)
                printf("error rate must be positive\n");
            else
                printf("%.17g %.17g\n", a + u, b + u);
            fflush(stdout); /* row by row: the host then knows where a crash happened */
        }
        if (strcmp(mode, "chatty") == 0) printf("done with this batch\n");
        printf("end\n");
        fflush(stdout);
    }
    if (strcmp(mode, "ignore-quit") == 0)
        for (;;) pause();
    return 0;
}
