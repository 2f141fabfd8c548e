"""CPU time per training step of the transformer classifier (fit_transformer.py's model), every
side on one core: a measure that the other processes of a loaded machine disturb less than
wall time.

Each side runs in its own process pinned to one CPU (`taskset`), with XLA's Eigen pool and
TensorFlow's intra- and inter-op pools single-threaded; the sides take turns epoch by epoch
and each epoch is timed with `time.process_time`. Sides: lamina (`--lamina-trees`: one or
more source trees, e.g. this one and a checkout from before a change), Keras 3 on JAX, Keras 3
on TensorFlow (`--tf-python`), and fit_transformer.py's two hand-written JAX sides. Reported:
the median CPU ms per step over the rounds after a warm-up, its minimum, each side's last
loss, and the ratios to the first lamina tree (also as `RESULT` lines, `_results.emit`).

    python benchmarks/transformer_cpu_time.py [--rows 640] [--rounds 9] [--cpu 1]
    python benchmarks/transformer_cpu_time.py --lamina-trees .,/path/to/older/lamina
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

import _results
from _worker import default_tf_python

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TF_PYTHON = default_tf_python()
WORKLOAD = "Transformer classifier step, CPU time on one core"

# The side's process: builds its model, runs one warm-up epoch, then one epoch per line read.
WORKER = r"""
import json, os, sys, time
kind, rows, here = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, here)
if kind in ("tensorflow", "keras-jax"):
    os.environ["KERAS_BACKEND"] = "tensorflow" if kind == "tensorflow" else "jax"
    if kind == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
elif kind == "lamina":
    import lamina as keras
import fit_transformer as ft
if kind.startswith("hand-written"):
    run = ft.jax_transformer(rows, arranged=kind == "hand-written-lamina")
    epoch = lambda: run()[1]
else:
    x, y = ft.make_data(rows)
    model = ft.build_model(keras)
    epoch = lambda: model.fit(x, y, batch_size=ft.BATCH, epochs=1, verbose=0).history["loss"][-1]
epoch()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    start = time.process_time()
    loss = epoch()
    seconds = time.process_time() - start
    print(json.dumps({"ms_per_step": seconds * 1000 / -(-rows // ft.BATCH), "loss": float(loss)}),
          flush=True)
"""


def side_specs(args):
    """(name, command, environment) per side; sides that cannot run are said and left out."""
    single = {"XLA_FLAGS": (os.environ.get("XLA_FLAGS", "")
                            + " --xla_cpu_multi_thread_eigen=false").strip(),
              "TF_CPP_MIN_LOG_LEVEL": "3"}
    pin = ["taskset", "-c", str(args.cpu)] if shutil.which("taskset") else []
    if not pin:
        print("(no taskset here: the sides are not pinned to one CPU)")
    specs = []
    for index, tree in enumerate(filter(None, args.lamina_trees.split(","))):
        tree = os.path.abspath(tree)
        if not os.path.isdir(os.path.join(tree, "lamina")):
            print(f"(--lamina-trees: {tree} has no lamina/ package; that side is not measured)")
            continue
        name = "lamina" if index == 0 else f"lamina at {tree}"
        specs.append((name, [sys.executable, "-c", WORKER, "lamina"],
                      dict(single, PYTHONPATH=tree)))
    specs.append(("keras 3 (jax)", [sys.executable, "-c", WORKER, "keras-jax"], single))
    if os.path.exists(args.tf_python):
        specs.append(("keras 3 (tensorflow)", [args.tf_python, "-c", WORKER, "tensorflow"],
                      single))
    else:
        print(f"(no TensorFlow Python at {args.tf_python}: Keras 3 on TensorFlow is not "
              "measured)")
    specs.append(("hand-written jax (same formulation)",
                  [sys.executable, "-c", WORKER, "hand-written-textbook"], single))
    specs.append(("hand-written jax (lamina's formulation)",
                  [sys.executable, "-c", WORKER, "hand-written-lamina"], single))
    skip = set(filter(None, args.skip.split(",")))
    return [(name, pin + command + [str(args.rows), HERE], env)
            for name, command, env in specs if not any(word in name for word in skip)]


def start(name, command, env):
    """The side's process once it is ready, or None (with the reason printed)."""
    process = subprocess.Popen(command, env=dict(os.environ, **env), cwd=HERE, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    line = process.stdout.readline()
    if line.strip() != json.dumps({"ready": True}):
        process.kill()
        error = process.stderr.read().strip().splitlines()
        print(f"  {name}: did not start ({error[-1] if error else 'no output'}); not measured")
        return None
    return process


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=640)
    parser.add_argument("--rounds", type=int, default=9, help="timed epochs per side")
    parser.add_argument("--cpu", type=int, default=1, help="the CPU every side is pinned to")
    parser.add_argument("--lamina-trees", default=os.path.dirname(HERE),
                        help="comma-separated source trees whose lamina/ to measure")
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated words of side names to skip")
    args = parser.parse_args()
    if args.rows < 32 or args.rounds < 1:
        parser.error(f"--rows must be at least one batch (32) and --rounds at least 1. "
                     f"Received: --rows {args.rows}, --rounds {args.rounds}")
    sides = []
    for name, command, env in side_specs(args):
        process = start(name, command, env)
        if process is not None:
            sides.append({"name": name, "process": process, "ms": [], "loss": None})
    for _ in range(args.rounds):
        for side in list(sides):
            process = side["process"]
            process.stdin.write("epoch\n")
            process.stdin.flush()
            line = process.stdout.readline()
            if not line:
                print(f"  {side['name']}: stopped ({process.stderr.read().strip()[-300:]})")
                sides.remove(side)
                continue
            record = json.loads(line)
            side["ms"].append(record["ms_per_step"])
            side["loss"] = record["loss"]
    for side in sides:
        side["process"].stdin.close()
        side["process"].wait()
    sides = [side for side in sides if side["ms"]]
    if not sides:
        print("No side could be measured.")
        return
    print(f"Transformer classifier, {args.rows} rows, batch 32: CPU ms per step on one core, "
          f"median of {args.rounds} epochs (sides alternating)")
    reference = statistics.median(sides[0]["ms"])
    for side in sides:
        median = statistics.median(side["ms"])
        print(f"  {side['name']:44s} {median:7.2f} ms/step  min {min(side['ms']):7.2f}  "
              f"last loss {side['loss']:.4f}  / {sides[0]['name']} = {median / reference:.2f}")
    if sides[0]["name"] != "lamina":
        return
    for side in sides[1:]:
        _results.emit(WORKLOAD, side["name"], statistics.median(side["ms"]) / reference,
                      min_ratio=round(min(side["ms"]) / min(sides[0]["ms"]), 4))


if __name__ == "__main__":
    main()
