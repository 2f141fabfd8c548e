"""Time per epoch of a small CNN (compute-bound): lamina vs Keras 3 (JAX, TensorFlow) vs JAX.

The model, on 28x28x1 images with 10 classes: Conv2D(32, 3, relu) -> MaxPooling2D ->
Conv2D(64, 3, relu) -> MaxPooling2D -> Flatten -> Dense(128, relu) -> Dense(10), sparse
categorical cross-entropy from logits, Adam, batch 64, 60,000 images (generated: class
templates plus noise, quantized to 1/255 steps like uint8 pixels; nothing is downloaded).

Sides, each in its own process (a process holds one Keras backend), run in turn epoch by epoch
so that machine noise hits them alike:

* lamina: `model.fit(..., epochs=1, verbose=0)`;
* Keras 3 on JAX (if installed): the same code with `import keras`;
* Keras 3 on TensorFlow, if a Python with `tensorflow` and `keras` is given by `--tf-python`
  (default: /tmp/tfvenv/bin/python when it exists; make one with
  `python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu keras`);
* hand-written JAX: one `jax.jit` epoch (`lax.scan` over the batches, optax's adam), with the
  same convolution and pooling formulation as lamina (`lamina.layers._conv_kernels`);
* hand-written JAX with plain `lax.conv_general_dilated` and `lax.reduce_window` (what lamina
  did before): timed on `--plain-steps` steps per round only, since it is ~15x slower;
* a matmul probe: the machine's float32 GEMM throughput (2048^3 products with `jnp.dot` and
  with NumPy's BLAS), to say what fraction of it the training step reaches;
* with `--mixed-bfloat16`, lamina again under `keras.mixed_precision.set_global_policy(
  "mixed_bfloat16")` (the same model: every layer computes in bfloat16 with float32
  weights, the loss in float32).

Reported: medians over epochs after the first (the first includes compilation, reported
apart), per step and per 60,000-image epoch, and ratios; for the lamina sides, the accuracy
of the trained model on 10,000 held-out images of the same distribution. A side whose last
epoch's loss differs from lamina's by more than `--loss-tolerance` is a FAILURE, not a
speed-up.

With `--repeats N`, the whole run is made N times, each in fresh processes with the order of
the sides rotated, and the spread of each ratio over the runs (min, median, max) is printed:
two runs of one script on a shared machine can differ by more than a side's lead, and the
spread says how much (run_all.py's full mode uses N=5). The headline ratios are printed as
`RESULT` lines (`_results.emit`; with N > 1 the median, with min and max beside it).

    python benchmarks/fit_cnn.py [--epochs 4] [--rows 60000] [--plain-steps 16] [--repeats 5]
    python benchmarks/fit_cnn.py --mixed-bfloat16 --skip jax,keras,plain,matmul  # bf16 vs f32
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np

import _results
from _worker import WorkerProcess, default_tf_python, keras_sides
from fit_vae_decoder import epoch_mean

ROWS, BATCH, CLASSES = 60000, 64, 10
FULL_EPOCH_ROWS = 60000
DEFAULT_TF_PYTHON = default_tf_python()


# ----------------------------------------------------------------------------- data, FLOPs
def make_data(rows, seed=None):
    """Images of 10 classes: a smooth random template per class plus noise, in 1/255 steps.

    The templates always come from seed 42; `seed` draws other images of the same classes
    (a held-out set)."""
    rng = np.random.default_rng(42)
    templates = rng.random((CLASSES, 7, 7)).repeat(4, axis=1).repeat(4, axis=2)
    if seed is not None:
        rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, rows).astype(np.int32)
    noise = rng.normal(scale=0.35, size=(rows, 28, 28)).astype(np.float32)
    x = np.clip(templates[y] + noise, 0, 1)
    x = (np.round(x * 255) / 255).astype(np.float32)[..., None]
    return x, y


def steps_per_epoch(rows):
    return -(-rows // BATCH)


def train_flops_per_step(batch=BATCH):
    """Multiply-add FLOPs (2 per multiply-add) of one training step: forward, then backward
    (input and kernel gradients, no input gradient for the first layer). Bias adds, ReLUs,
    pooling, the loss and Adam are elementwise and left out."""
    conv1 = 2 * batch * 26 * 26 * 32 * (3 * 3 * 1)
    conv2 = 2 * batch * 11 * 11 * 64 * (3 * 3 * 32)
    dense1 = 2 * batch * 1600 * 128
    dense2 = 2 * batch * 128 * 10
    return conv1 * 2 + (conv2 + dense1 + dense2) * 3


# ----------------------------------------------------------------------------- workers
def build_keras_model(keras):
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(CLASSES)])
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


class FitWorker:
    """lamina or Keras 3: one `fit` epoch per round, under the global dtype `policy`."""

    def __init__(self, module, rows, policy="float32"):
        if module == "lamina":
            import lamina as keras
        else:
            import keras
        self.x, self.y = make_data(rows)
        keras.mixed_precision.set_global_policy(policy)
        self.model = build_keras_model(keras)
        self.steps = steps_per_epoch(rows)

    def run(self):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0)
        return self.steps, history.history["loss"][-1]

    def accuracy(self):
        x, y = make_data(10000, seed=7)
        logits = np.asarray(self.model.predict(x, batch_size=500, verbose=0), "float32")
        return float(np.mean(logits.argmax(axis=-1) == y))


class JaxWorker:
    """Hand-written JAX: one jitted epoch, `lax.scan` over the full batches and one step for
    the partial last batch; on-device shuffling, as `fit` does. `plain=True` uses plain
    `lax.conv_general_dilated` / `lax.reduce_window` and runs `steps` steps per round."""

    def __init__(self, rows, plain=False, steps=None):
        import jax
        import jax.numpy as jnp
        import optax
        from jax import lax

        from lamina.layers import _conv_kernels as kernels

        if plain:
            def conv(x, w):
                return lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                                dimension_numbers=("NHWC", "HWIO", "NHWC"))

            def pool(x):
                return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                         "VALID")
        else:
            def conv(x, w):
                return kernels.conv(x, w, (1, 1), "VALID", (1, 1), channels_first=False)

            def pool(x):
                return kernels.max_pool(x, (2, 2), (2, 2), "VALID", channels_first=False)

        def glorot(key, shape, fan_in, fan_out):
            limit = np.sqrt(6 / (fan_in + fan_out))
            return jax.random.uniform(key, shape, jnp.float32, -limit, limit)

        keys = jax.random.split(jax.random.PRNGKey(0), 4)
        params = {
            "conv1": glorot(keys[0], (3, 3, 1, 32), 9, 288), "bias1": jnp.zeros(32),
            "conv2": glorot(keys[1], (3, 3, 32, 64), 288, 576), "bias2": jnp.zeros(64),
            "dense1": glorot(keys[2], (1600, 128), 1600, 128), "bias3": jnp.zeros(128),
            "dense2": glorot(keys[3], (128, CLASSES), 128, CLASSES),
            "bias4": jnp.zeros(CLASSES)}
        optimizer = optax.adam(1e-3, eps=1e-7)

        def loss_fn(p, x, y):
            h = pool(jax.nn.relu(conv(x, p["conv1"]) + p["bias1"]))
            h = pool(jax.nn.relu(conv(h, p["conv2"]) + p["bias2"]))
            h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p["dense1"] + p["bias3"])
            logits = h @ p["dense2"] + p["bias4"]
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        def step(state, batch):
            p, opt_state = state
            loss, grads = jax.value_and_grad(loss_fn)(p, *batch)
            updates, opt_state = optimizer.update(grads, opt_state, p)
            return (optax.apply_updates(p, updates), opt_state), loss

        x, y = make_data(rows)
        self.x, self.y = jnp.asarray(x), jnp.asarray(y)
        self.state = (params, optimizer.init(params))
        self.key = jax.random.PRNGKey(1)
        full = rows // BATCH if steps is None else steps

        @jax.jit
        def run_epoch(state, x, y, key):
            order = jax.random.permutation(key, rows)
            idx = order[: full * BATCH].reshape(full, BATCH)
            state, losses = lax.scan(lambda s, i: step(s, (x[i], y[i])), state, idx)
            if steps is None and rows % BATCH:
                rest = order[full * BATCH:]
                state, last = step(state, (x[rest], y[rest]))
                return state, epoch_mean(losses, BATCH, last, rows % BATCH)
            return state, epoch_mean(losses, BATCH)

        self.run_epoch = run_epoch
        self.steps = steps_per_epoch(rows) if steps is None else steps
        self.jax = jax

    def run(self):
        self.key, sub = self.jax.random.split(self.key)
        self.state, loss = self.run_epoch(self.state, self.x, self.y, sub)
        return self.steps, float(loss)


class MatmulWorker:
    """Float32 GEMM throughput of the machine: 2048x2048 by 2048x2048 with `jnp.dot` (one
    jitted call per product, so XLA may use every core) and with NumPy's BLAS."""

    n, repeats = 2048, 5

    def __init__(self, rows):
        import jax
        import jax.numpy as jnp

        rng = np.random.default_rng(0)
        self.a = rng.random((self.n, self.n), dtype=np.float32)
        self.b = rng.random((self.n, self.n), dtype=np.float32)
        a, b = jnp.asarray(self.a), jnp.asarray(self.b)
        dot = jax.jit(jnp.dot)
        dot(a, b).block_until_ready()
        self.jax_run = lambda: [dot(a, b) for _ in range(self.repeats)][-1].block_until_ready()

    def run(self):
        flops = 2 * self.n ** 3 * self.repeats
        start = time.perf_counter()
        self.jax_run()
        jax_rate = flops / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(self.repeats):
            self.a @ self.b
        numpy_rate = flops / (time.perf_counter() - start)
        return 0, {"jax": jax_rate, "numpy": numpy_rate}


def worker_main(kind, rows, plain_steps):
    if kind in ("lamina", "keras"):
        worker = FitWorker(kind, rows)
    elif kind == "lamina-bf16":
        worker = FitWorker("lamina", rows, policy="mixed_bfloat16")
    elif kind == "jax":
        worker = JaxWorker(rows)
    elif kind == "plain":
        worker = JaxWorker(rows, plain=True, steps=plain_steps)
    else:
        worker = MatmulWorker(rows)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "accuracy":
            print(json.dumps({"accuracy": worker.accuracy()}), flush=True)
            continue
        if line.strip() != "run":
            break
        start = time.perf_counter()
        steps, result = worker.run()
        elapsed = time.perf_counter() - start
        print(json.dumps({"seconds": elapsed, "steps": steps, "result": result}), flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"max_rss_mb": rss}), flush=True)


# ----------------------------------------------------------------------------- driver
class Side(WorkerProcess):
    def __init__(self, name, kind, python, env, rows, plain_steps):
        self.kind = kind
        self.samples, self.first, self.last = [], None, None
        self.max_rss_mb = self.accuracy = None
        command = [python, os.path.abspath(__file__), "--worker", kind, "--rows", str(rows),
                   "--plain-steps", str(plain_steps)]
        super().__init__(name, command, env)

    def run(self):
        reply = self.ask("run")
        per_step = reply["seconds"] / reply["steps"] if reply["steps"] else None
        if self.first is None:
            self.first = reply
        else:
            self.samples.append(reply)
        self.last = reply["result"]
        return per_step

    def measure_accuracy(self):
        self.accuracy = self.ask("accuracy")["accuracy"]

    def close(self):
        self.send("quit")
        reply = self.read()
        self.max_rss_mb = reply and reply.get("max_rss_mb")
        self.process.wait()

    def median_step(self):
        return statistics.median(s["seconds"] / s["steps"] for s in self.samples)


def start_sides(specs, args, skip, order):
    """Starts the sides of `specs` (rotated by `order`, so no side always runs first)."""
    specs = specs[order % len(specs):] + specs[:order % len(specs)]
    sides = []
    for name, kind, python, env in specs:
        if kind in skip or name in skip:
            continue
        side = Side(name, kind, python, env, args.rows, args.plain_steps)
        if side.ok:
            sides.append(side)
        else:
            print(f"({name}: could not start, skipped)")
    return sides


def measure(specs, args, skip, order=0):
    """One run: fresh processes, `args.epochs` rounds alternating sides, then the table.
    Returns ({side name: median seconds per step}, {side name: the last round's epoch loss})."""
    sides = start_sides(specs, args, skip, order)
    for _ in range(args.epochs):
        for side in sides:
            side.run()
    for side in sides:
        if side.kind.startswith("lamina"):
            side.measure_accuracy()
        side.close()

    steps = steps_per_epoch(FULL_EPOCH_ROWS)
    flops = train_flops_per_step()
    print(f"CNN, {args.rows} images, batch {BATCH}: median of {args.epochs - 1} rounds after "
          f"the first; per step, and per {FULL_EPOCH_ROWS}-image epoch ({steps} steps)")
    models = [s for s in sides if s.kind != "matmul"]
    models.sort(key=lambda s: [name for name, *_ in specs].index(s.name))
    for side in models:
        t = side.median_step()
        first = side.first["seconds"]
        print(f"  {side.name:40s} {t * 1e3:8.2f} ms/step {t * steps:7.1f} s/epoch  "
              f"first round {first:6.1f} s  {flops / t / 1e9:6.1f} GFLOP/s  "
              f"epoch loss {side.last:.4f}  peak RSS {side.max_rss_mb or 0:6.0f} MB"
              + (f"  held-out accuracy {side.accuracy:.4f}" if side.accuracy is not None
                 else ""))
    times = {side.name: side.median_step() for side in models}
    losses = {side.name: side.last for side in models}
    lamina_t = times.get("lamina")
    if lamina_t is not None:
        for name, t in times.items():
            if name != "lamina":
                print(f"  {name} / lamina = {t / lamina_t:.2f}"
                      + ("" if loss_agrees(losses, name, args.loss_tolerance) else
                         f"  FAILURE: epoch loss differs from lamina's by more than "
                         f"{args.loss_tolerance}"))
    probe = next((s for s in sides if s.kind == "matmul"), None)
    if probe is not None and lamina_t is not None:
        jax_rate = statistics.median(s["result"]["jax"] for s in probe.samples)
        numpy_rate = statistics.median(s["result"]["numpy"] for s in probe.samples)
        reached = flops / lamina_t
        print(f"  matmul throughput: jnp.dot {jax_rate / 1e9:.1f} GFLOP/s, NumPy "
              f"{numpy_rate / 1e9:.1f} GFLOP/s; lamina's step ({flops / 1e6:.0f} MFLOP) "
              f"reaches {reached / 1e9:.1f} GFLOP/s = {reached / jax_rate:.0%} of jnp.dot, "
              f"{reached / numpy_rate:.0%} of NumPy")
    return times, losses


def loss_agrees(losses, name, tolerance):
    return abs(losses[name] - losses["lamina"]) <= tolerance


def spread(runs, tolerance):
    """{side: (min, median, max) of its time over lamina's, failed} across the runs that
    measured both; failed when any run's epoch loss differs from lamina's by more than
    `tolerance`."""
    ratios = {}
    for times, losses in runs:
        if "lamina" not in times:
            continue
        for name, t in times.items():
            if name.startswith("lamina") or "plain lax" in name:
                continue
            entry = ratios.setdefault(name, ([], []))
            entry[0].append(t / times["lamina"])
            entry[1].append(not loss_agrees(losses, name, tolerance))
    return {name: (min(values), statistics.median(values), max(values), any(failed))
            for name, (values, failed) in ratios.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--plain-steps", type=int, default=16,
                        help="steps per round of the plain-lax side (0 to skip it)")
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated side kinds to leave out")
    parser.add_argument("--mixed-bfloat16", action="store_true",
                        help="add lamina under the mixed_bfloat16 policy")
    parser.add_argument("--repeats", type=int, default=1,
                        help="whole runs, each in fresh processes with the side order rotated; "
                        "above 1, the spread (min, median, max) of each ratio is reported")
    parser.add_argument("--loss-tolerance", type=float, default=0.1,
                        help="largest difference of the epoch mean loss from lamina's that passes")
    parser.add_argument("--baseline-lamina", metavar="DIR",
                        help="also run the lamina package in DIR (a before/after side, for "
                        "instance `git archive <commit> lamina | tar -x -C DIR`)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.rows, args.plain_steps)
    if args.repeats < 1 or args.epochs < 2:
        parser.error(f"expected --repeats >= 1 and --epochs >= 2 (the first round compiles "
                     f"and is not timed), received --repeats {args.repeats} --epochs "
                     f"{args.epochs}")

    skip = set(filter(None, args.skip.split(",")))
    specs = [("lamina", "lamina", sys.executable, {})]
    if args.baseline_lamina:
        specs.append((f"lamina at {args.baseline_lamina}", "lamina", sys.executable,
                       {"PYTHONPATH": os.path.abspath(args.baseline_lamina)}))
    if args.mixed_bfloat16:
        specs.append(("lamina (mixed_bfloat16)", "lamina-bf16", sys.executable, {}))
    specs.append(("hand-written jax (same formulation)", "jax", sys.executable, {}))
    specs += [(name, "keras", python, env) for name, python, env in keras_sides(args.tf_python)]
    if args.plain_steps:
        specs.append(("hand-written jax, plain lax conv/pool", "plain", sys.executable, {}))
    specs.append(("matmul probe", "matmul", sys.executable, {}))
    runs = []
    for repeat in range(args.repeats):
        if args.repeats > 1:
            print(f"\nrun {repeat + 1} of {args.repeats} (fresh processes)")
        runs.append(measure(specs, args, skip, order=repeat))
    ratios = spread(runs, args.loss_tolerance)
    if args.repeats > 1 and ratios:
        print(f"\nspread of each ratio over the {args.repeats} runs (time over lamina's; "
              "min / median / max):")
    for name, (low, middle, high, failed) in ratios.items():
        if args.repeats > 1:
            print(f"  {name:40s} {low:6.2f} {middle:6.2f} {high:6.2f}"
                  + ("  FAILURE: losses disagree" if failed else ""))
        extra = {"min": round(low, 4), "max": round(high, 4), "repeats": args.repeats}
        _results.emit("small CNN step", name, middle, failure=failed,
                      **(extra if args.repeats > 1 else {}))


if __name__ == "__main__":
    main()
