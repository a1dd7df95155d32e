#!/usr/bin/env python3
"""Compares builds of trailseal on the same command, run by run in alternation, so that the
machine's drift (its speed changes by 25% within an hour here) affects every build alike.

    python3 bench/interleave.py RUNS BINARY... -- ARGS...
    python3 bench/interleave.py 40 /tmp/old/trailseal /tmp/new/trailseal -- scan corpus --format json --output /dev/null

Prints the median, mean and minimum wall time of each binary.
"""
import statistics
import subprocess
import sys
import time


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    runs, binaries, args = int(sys.argv[1]), sys.argv[2:split], sys.argv[split + 1:]
    times = {b: [] for b in binaries}
    for b in binaries:  # warm-up (page cache)
        subprocess.run([b, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for i in range(runs):
        for b in binaries if i % 2 == 0 else binaries[::-1]:
            start = time.perf_counter()
            subprocess.run([b, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[b].append(time.perf_counter() - start)
    for b in binaries:
        t = times[b]
        print(f"{b}: median {statistics.median(t) * 1000:.1f} ms, mean {statistics.mean(t) * 1000:.1f} ms, "
              f"min {min(t) * 1000:.1f} ms ({runs} runs)")


if __name__ == "__main__":
    main()
