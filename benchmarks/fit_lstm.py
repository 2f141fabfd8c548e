"""Time per epoch of a masked LSTM text classifier: lamina vs Keras 3 (JAX, TensorFlow) vs JAX.

The model, on padded token sequences of length 200 (vocabulary 20,000; lengths uniform in
20..200, zeros in front as `keras.utils.pad_sequences` pads): Embedding(20000, 64,
mask_zero=True) -> LSTM(64) -> Dense(1), binary cross-entropy from logits, Adam, batch 64.
The data are generated (a label that depends on the tokens), so nothing is downloaded.

Sides, each in its own process (a process holds one Keras backend), run in turn epoch by epoch
so that machine noise hits them alike:

* lamina: `model.fit(..., epochs=1, verbose=0)`;
* Keras 3 on JAX (if installed): the same code with `import keras`;
* Keras 3 on TensorFlow, if a Python with `tensorflow` and `keras` is given by `--tf-python`
  (default: /tmp/tfvenv/bin/python when it exists; make one with
  `python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu keras`);
* hand-written JAX: one `jax.jit` epoch (`lax.scan` over the batches, optax's adam) whose
  LSTM is a `lax.scan` over time with the mask applied in the step, as Keras's JAX backend
  writes it.

Reported: medians over epochs after the first (the first includes compilation, reported
apart), per step and per 25,000-review epoch, and ratios. With `--profile`, lamina's epoch is
also run under `jax.profiler`, and the compiled program's time is split into the recurrent
scans (the forward and backward loops over time) and the rest, with the share of the scans'
time spent in matrix products: what bounds the step. A side whose epoch loss differs from
lamina's by more than `--loss-tolerance` is a FAILURE, not a speed-up; the ratios are printed
as `RESULT` lines too (`_results.emit`) for run_all.py.

    python benchmarks/fit_lstm.py [--epochs 4] [--rows 6400] [--profile]
"""

import argparse
import collections
import glob
import gzip
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

import _results
from _worker import WorkerProcess, default_tf_python, keras_sides
from fit_vae_decoder import scan_epoch

VOCAB, LENGTH, EMBED, UNITS, BATCH = 20000, 200, 64, 64, 64
ROWS, FULL_EPOCH_ROWS = 6400, 25000
DEFAULT_TF_PYTHON = default_tf_python()


# ----------------------------------------------------------------------------- data, model
def make_data(rows):
    """Token sequences padded in front; the label says whether low token ids dominate."""
    rng = np.random.default_rng(42)
    lengths = rng.integers(20, LENGTH + 1, rows)
    tokens = rng.integers(1, VOCAB, (rows, LENGTH))
    padding = np.arange(LENGTH)[None] < (LENGTH - lengths)[:, None]
    tokens[padding] = 0
    low = ((tokens > 0) & (tokens < VOCAB // 2)).sum(axis=1)
    y = (low * 2 > lengths).astype(np.float32)
    return tokens.astype(np.int32), y


def steps_per_epoch(rows):
    return -(-rows // BATCH)


def masks_propagate(keras):
    """Whether this Keras (or lamina) passes Embedding(mask_zero=True)'s mask to the LSTM:
    then the padding token's embedding cannot change the output."""
    layers = keras.layers
    embedding = layers.Embedding(5, 2, mask_zero=True)
    model = keras.Sequential([keras.Input((3,), dtype="int32"), embedding, layers.LSTM(2)])
    tokens = np.array([[0, 0, 1]])
    before = np.asarray(model.predict(tokens, verbose=0))
    table = np.asarray(embedding.get_weights()[0]).copy()
    table[0] += 1.0
    embedding.set_weights([table])
    return np.allclose(before, np.asarray(model.predict(tokens, verbose=0)))


def build_keras_model(keras):
    """The Sequential model of the docstring; where masks do not propagate yet, the same
    layers with the mask passed explicitly (the same computation)."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    if masks_propagate(keras):
        model = keras.Sequential([
            keras.Input((LENGTH,), dtype="int32"),
            layers.Embedding(VOCAB, EMBED, mask_zero=True),
            layers.LSTM(UNITS),
            layers.Dense(1)])
    else:
        tokens = keras.Input((LENGTH,), dtype="int32")
        x = layers.Embedding(VOCAB, EMBED)(tokens)
        x = layers.LSTM(UNITS)(x, mask=keras.ops.not_equal(tokens, 0))
        model = keras.Model(tokens, layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


# ----------------------------------------------------------------------------- workers
class FitWorker:
    """lamina or Keras 3: one `fit` epoch per round."""

    def __init__(self, module, rows, data, build):
        if module == "lamina":
            import lamina as keras
        else:
            import keras
        self.keras = keras
        self.x, self.y = data(rows)
        self.model = build(keras)
        self.steps = steps_per_epoch(rows)

    def run(self):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0)
        return self.steps, history.history["loss"][-1]

    def profile(self, steps=10):
        # A short epoch: the trace of a long one (an event per operation, hundreds per time
        # step) would not fit in memory.
        rows = steps * BATCH
        return profile_scans(lambda: self.model.fit(self.x[:rows], self.y[:rows],
                                                    batch_size=BATCH, epochs=1, verbose=0),
                             steps, self.x.shape[1])


def lstm_step(params, x, states, keep):
    """One masked LSTM step, Keras's gate order (i, f, c, o) and masking rule."""
    import jax
    import jax.numpy as jnp

    h, c = states
    z = x @ params["kernel"] + h @ params["recurrent"] + params["bias"]
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h_new = jax.nn.sigmoid(o) * jnp.tanh(c_new)
    keep = keep[:, None]
    return jnp.where(keep, h_new, h), jnp.where(keep, c_new, c)


class JaxWorker:
    """Hand-written JAX: one jitted epoch, `lax.scan` over the full batches and one step for
    the partial last batch; on-device shuffling, as `fit` does (the shared driver's
    `scan_epoch`)."""

    def __init__(self, rows, data, model_fn, init_fn):
        import jax
        import optax

        x, y = data(rows)
        self.run = scan_epoch(model_fn, init_fn(jax.random.PRNGKey(0)),
                              optax.adam(1e-3, eps=1e-7), x, y, rows, BATCH)


def glorot(jax, key, shape):
    limit = np.sqrt(6 / (shape[0] + shape[1]))
    return jax.random.uniform(key, shape, "float32", -limit, limit)


def lstm_params(key):
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(key, 4)
    bias = jnp.zeros(4 * UNITS).at[UNITS:2 * UNITS].set(1.0)
    return {"embeddings": jax.random.uniform(keys[0], (VOCAB, EMBED), "float32", -0.05, 0.05),
            "kernel": glorot(jax, keys[1], (EMBED, 4 * UNITS)),
            "recurrent": jnp.linalg.qr(jax.random.normal(keys[2], (4 * UNITS, UNITS)))[0].T,
            "bias": bias, "dense": glorot(jax, keys[3], (UNITS, 1)), "dense_bias": jnp.zeros(1)}


def lstm_loss(params, tokens, y):
    import jax
    import jax.numpy as jnp
    import optax

    x = jnp.swapaxes(params["embeddings"][tokens], 0, 1)
    keep = jnp.swapaxes(tokens != 0, 0, 1)
    zeros = jnp.zeros((tokens.shape[0], UNITS))
    (h, _), _ = jax.lax.scan(
        lambda s, xs: (lstm_step(params, xs[0], s, xs[1]), None), (zeros, zeros), (x, keep))
    logits = (h @ params["dense"] + params["dense_bias"])[:, 0]
    return optax.sigmoid_binary_cross_entropy(logits, y).mean()


# ----------------------------------------------------------------------------- profile
def profile_scans(run_epoch, steps, length):
    """Runs one epoch under `jax.profiler` and splits the compiled programs' time.

    XLA's CPU runtime records one event per executed operation, and one per program run
    ("ThunkExecutor::Execute (wait for completion)"). The recurrent scans are the `while`
    loops that run once per training step (the forward loop over time and the backward one).
    Returns their share of the programs' time, and how the scans' time divides: the share in
    matrix products (`dot`, and the GEMMs XLA fuses as `ynn_fusion`) among the operations run
    once per time step, and how many operations run per time step.
    """
    import jax

    folder = tempfile.mkdtemp(prefix="lamina_profile_")
    try:
        with jax.profiler.trace(folder, create_perfetto_trace=True):
            run_epoch()
        path = glob.glob(os.path.join(folder, "**", "*.trace.json.gz"), recursive=True)[0]
        with gzip.open(path) as file:
            events = json.load(file)["traceEvents"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total, count = collections.Counter(), collections.Counter()
    for event in events:
        if event.get("ph") == "X":
            total[event["name"]] += event.get("dur", 0)
            count[event["name"]] += 1
    programs = total["ThunkExecutor::Execute (wait for completion)"]
    scans = sum(t for n, t in total.items() if n.startswith("while") and count[n] >= steps)
    inner = {n: t for n, t in total.items() if count[n] >= steps * length // 2
             and not n.startswith(("while", "$", "ThunkExecutor"))}
    products = sum(t for n, t in inner.items() if n.startswith(("dot", "ynn_fusion")))
    return {"scan_share": scans / programs, "product_share": products / scans,
            "products_seconds_per_time_step": products / 1e6 / (steps * length),
            "ops_per_time_step": sum(count[n] for n in inner) / (steps * length),
            "programs_us": programs, "scans_us": scans}


# ----------------------------------------------------------------------------- driver
def serve(worker):
    """A side's process: answers "run" (one epoch) and "profile" on stdin, in JSON lines."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            start = time.perf_counter()
            steps, result = worker.run()
            elapsed = time.perf_counter() - start
            print(json.dumps({"seconds": elapsed, "steps": steps, "result": result}),
                  flush=True)
        elif command == "profile":
            print(json.dumps({"profile": worker.profile()}), flush=True)
        else:
            break
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"max_rss_mb": rss}), flush=True)


class Side(WorkerProcess):
    def __init__(self, name, kind, python, env, rows, script):
        self.kind = kind
        self.samples, self.first, self.last = [], None, None
        self.max_rss_mb = None
        super().__init__(name, [python, script, "--worker", kind, "--rows", str(rows)], env)

    def run(self):
        reply = self.ask("run")
        if self.first is None:
            self.first = reply
        else:
            self.samples.append(reply)
        self.last = reply["result"]

    def close(self):
        reply = self.ask("quit") if self.process.poll() is None else None
        self.max_rss_mb = reply and reply.get("max_rss_mb")
        self.process.wait()

    def median_step(self):
        return statistics.median(s["seconds"] / s["steps"] for s in self.samples)


def run_sides(title, script, hand_written_name, full_epoch_rows, full_epoch_word,
              scan_flops):
    """The driver: starts the sides, alternates their epochs, prints the report.
    `scan_flops`: the FLOPs of the matrix products in the scans per time step of a batch
    (forward and backward), to express their time as a throughput."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated side kinds to leave out")
    parser.add_argument("--loss-tolerance", type=float, default=0.1,
                        help="largest difference of the epoch mean loss from lamina's that passes")
    parser.add_argument("--profile", action="store_true",
                        help="also profile lamina's epoch: the share of time in the scans")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return args

    skip = set(filter(None, args.skip.split(",")))
    specs = [("lamina", "lamina", sys.executable, {}),
             (hand_written_name, "jax", sys.executable, {})]
    specs += [(name, "keras", python, env) for name, python, env in keras_sides(args.tf_python)]
    sides = []
    for name, kind, python, env in specs:
        if kind in skip or name in skip:
            continue
        side = Side(name, kind, python, env, args.rows, script)
        if side.ok:
            sides.append(side)
        else:
            print(f"({name}: could not start, skipped)")
    for _ in range(args.epochs):
        for side in sides:
            side.run()
    profile = None
    lamina_side = next((s for s in sides if s.name == "lamina"), None)
    if args.profile and lamina_side is not None:
        profile = lamina_side.ask("profile")["profile"]
    for side in sides:
        side.close()

    steps = steps_per_epoch(full_epoch_rows)
    print(f"{title}, {args.rows} rows, batch {BATCH}: median of {args.epochs - 1} rounds after "
          f"the first; per step, and per {full_epoch_rows}-{full_epoch_word} epoch "
          f"({steps} steps)")
    for side in sides:
        t = side.median_step()
        print(f"  {side.name:32s} {t * 1e3:8.2f} ms/step {t * steps:7.1f} s/epoch  "
              f"first round {side.first['seconds']:6.1f} s  epoch loss {side.last:.4f}  "
              f"peak RSS {side.max_rss_mb or 0:6.0f} MB")
    times = {side.name: side.median_step() for side in sides}
    losses = {side.name: side.last for side in sides}
    if "lamina" in times:
        for name, t in times.items():
            if name != "lamina":
                failed = not abs(losses[name] - losses["lamina"]) <= args.loss_tolerance
                print(f"  {name} / lamina = {t / times['lamina']:.2f}"
                      + (f"  FAILURE: epoch loss differs from lamina's by more than "
                         f"{args.loss_tolerance}" if failed else ""))
                _results.emit(f"{title} step", name, t / times["lamina"], failure=failed,
                              peak_rss_mb=next(s.max_rss_mb for s in sides if s.name == name))
    if profile is not None:
        print(f"  lamina's epoch program: {profile['scan_share']:.0%} of its time in the "
              f"recurrent scans ({profile['scans_us'] / 1e6:.2f} of "
              f"{profile['programs_us'] / 1e6:.2f} s under the profiler); inside them "
              f"{profile['product_share']:.0%} in matrix products "
              f"({scan_flops / profile['products_seconds_per_time_step'] / 1e9:.0f} GFLOP/s), "
              f"{profile['ops_per_time_step']:.0f} operations per time step")
    return None


def main():
    # Per time step: x @ kernel and h @ recurrent_kernel forward; backward, the same two
    # recomputed (on CPU the backward loop recomputes each step) and their input and weight
    # gradients (the embedding is trained, so the input gradient is needed too).
    flops = 4 * 2 * BATCH * (EMBED + UNITS) * 4 * UNITS
    args = run_sides("LSTM text classifier", os.path.abspath(__file__),
                     "hand-written jax (lax.scan)", FULL_EPOCH_ROWS, "review", flops)
    if args is None:
        return
    if args.worker in ("lamina", "keras"):
        worker = FitWorker(args.worker, args.rows, make_data, build_keras_model)
    else:
        worker = JaxWorker(args.rows, make_data, lstm_loss, lstm_params)
    serve(worker)


if __name__ == "__main__":
    main()
