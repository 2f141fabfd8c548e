"""`import lamina` vs `import jax`: median in-process import time over fresh interpreters.

Each sample starts a new Python, so nothing is cached in memory between samples; the two
sides alternate so that disk-cache and load noise hit both.

    python benchmarks/import_time.py
"""

import argparse
import statistics
import subprocess
import sys

_SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module):
    out = subprocess.run([sys.executable, "-c", _SNIPPET.format(module=module)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    import_seconds("jax"), import_seconds("lamina")  # warm the disk cache
    samples = {"jax": [], "lamina": []}
    for _ in range(args.repeats):
        for module in samples:
            samples[module].append(import_seconds(module))
    jax_s = statistics.median(samples["jax"])
    lamina_s = statistics.median(samples["lamina"])
    print(f"median of {args.repeats} fresh interpreters")
    print(f"  import jax     {jax_s * 1e3:7.1f} ms   1.00x")
    print(f"  import lamina  {lamina_s * 1e3:7.1f} ms   {lamina_s / jax_s:.2f}x (target <= 1.2)")


if __name__ == "__main__":
    main()
