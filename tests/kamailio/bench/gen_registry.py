"""Writes a registry.csv of COUNT random, distinct North American numbers, +1NXXNXXXXXX with
NPA and NXX in 200-999, all category attorney (exempt under tests/kamailio/policy.toml).

    python3 gen_registry.py COUNT SEED OUT

Standard library only; the same COUNT and SEED give the same file."""

import random
import sys


def main():
    count, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    # NPA 200-999 (800) x NXX 200-999 (800) x line 0000-9999: sample indices, distinct.
    picks = rng.sample(range(800 * 800 * 10000), count)
    with open(out, "w", buffering=1 << 20) as f:
        f.write("number,category,facilities,valid_from,valid_until,label\n")
        for i in picks:
            npa, rest = divmod(i, 800 * 10000)
            nxx, line = divmod(rest, 10000)
            f.write("+1%d%d%04d,attorney,,,,\n" % (npa + 200, nxx + 200, line))


if __name__ == "__main__":
    main()
