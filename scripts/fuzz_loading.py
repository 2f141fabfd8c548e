"""A long fuzzing run of the `.keras` loader: `python scripts/fuzz_loading.py --count 20000`.

The test suite runs a few hundred mutants from one seed (tests/saving/test_fuzz_loading.py);
this runs as many as you like, from any seed, and keeps every mutant that loads badly (an
exception other than a Keras refusal, a side effect, a slow load) in `--keep` for a test.
Run it with the project's environment: `.venv/bin/python scripts/fuzz_loading.py`.
"""

import argparse
import warnings
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from saving import _mutants as mutants  # noqa: E402 - found through the path above
from saving.test_fuzz_loading import check_mutant  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=int(time.time()),
                        help="the run's seed (default: the time; it is printed)")
    parser.add_argument("--start", type=int, default=0, help="the first mutant's index")
    parser.add_argument("--count", type=int, default=2000, help="how many mutants to load")
    parser.add_argument("--keep", default="fuzz_failures",
                        help="folder for the mutants that fail (default: ./fuzz_failures)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # a mutant may well warn; the run reports failures only
    print(f"seed {args.seed}, mutants {args.start}..{args.start + args.count - 1}")
    failures = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.start, args.start + args.count):
            data, change = mutants.mutant(args.seed, index)
            path = os.path.join(folder, f"mutant_{index}.keras")
            with open(path, "wb") as f:
                f.write(data)
            problem = check_mutant(path)
            os.remove(path)
            if problem:
                failures += 1
                os.makedirs(args.keep, exist_ok=True)
                kept = os.path.join(args.keep, f"seed{args.seed}_{index}.keras")
                with open(kept, "wb") as f:
                    f.write(data)
                print(f"FAIL index {index} ({change}): {problem[:500]}\n  kept: {kept}")
            if (index - args.start + 1) % 500 == 0:
                rate = (index - args.start + 1) / (time.perf_counter() - started)
                print(f"{index - args.start + 1} loaded, {failures} failed ({rate:.0f}/s)")
    print(f"done: {args.count} mutants, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
