#!/usr/bin/env python3
"""Two Moons as an external simulator for SBI Workbench (docs/simulator-protocol.md).

Standard library only; text framing. Each row brings its own 64-bit seed, so the result for
a row does not depend on which process simulated it.
"""
import math
import random
import sys


def simulate(theta, rng):
    a = rng.uniform(-math.pi / 2, math.pi / 2)
    r = rng.gauss(0.1, 0.01)
    s = math.sqrt(0.5)
    return [r * math.cos(a) + 0.25 - abs(s * (theta[0] + theta[1])),
            r * math.sin(a) + s * (theta[1] - theta[0])]


def main():
    out = sys.stdout
    out.write("sbiw-simulator 1\nparameters parameter_1 parameter_2\ndata 2\nframing text\nready\n")
    out.flush()
    read = sys.stdin.readline
    while True:
        line = read()
        if not line or line.startswith("quit"):
            return
        rows = int(line.split()[1])  # "batch N"
        answers = []
        for _ in range(rows):
            fields = read().split()
            rng = random.Random(int(fields[0]))
            theta = [float(v) for v in fields[1:]]
            answers.append(" ".join(repr(v) for v in simulate(theta, rng)))
        out.write("".join(a + "\n" for a in answers) + "end\n")
        out.flush()


if __name__ == "__main__":
    main()
