"""Time per training step of a VAE decoder (a Conv2DTranspose stack): lamina vs Keras 3 (JAX,
TensorFlow) vs hand-written JAX.

The decoder of the Keras VAE example, trained on its own as a generator from 2-D codes to
28x28x1 images: Dense(7*7*64, relu) -> Reshape -> Conv2DTranspose(64, 3, strides 2, same,
relu) -> Conv2DTranspose(32, 3, strides 2, same, relu) -> Conv2DTranspose(1, 3, same,
sigmoid); binary cross-entropy, Adam, batch 128, 6,400 rows (generated: each code draws a
smooth image, quantized to 1/255 steps; nothing is downloaded).

Sides, each in its own process, run in turn epoch by epoch so that machine noise hits them
alike:

* lamina: `model.fit(..., epochs=1, verbose=0)`;
* Keras 3 on JAX, and Keras 3 on TensorFlow from `--tf-python` (default /tmp/tfvenv/bin/python),
  the same code with `import keras`; a side that cannot start says so and the others run;
* hand-written JAX, same formulation: one `jax.jit` epoch (`lax.scan` over batches, optax's
  adam), transposed convolutions by `lamina.ops._convolution.transposed_convolution` (what
  the layer runs);
* hand-written JAX, the scatter form everywhere (`_scatter_transposed`: one GEMM, then each
  tap's product added at its strided place; what lamina ran for every layer before the phase
  form);
* hand-written JAX, `lax.conv_transpose` (Keras's JAX formulation) in the same `lax.scan`.

Reported: medians over rounds after the first (the first includes compilation, reported apart),
per step, with ratios; the last epoch's mean loss, weighted by batch rows as `fit` reports it
(a side whose loss differs from lamina's by more than `--loss-tolerance` is reported as a
FAILURE, not a speed-up); the peak resident memory.

    python benchmarks/fit_vae_decoder.py [--epochs 4] [--rows 6400] [--skip tensorflow]

The driver (`run_sides`, `report`) is shared by fit_resnet.py and fit_transformer.py.
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

DEFAULT_TF_PYTHON = default_tf_python()
ROWS, BATCH, LATENT = 6400, 128, 2


def make_data(rows):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(rows, LATENT)).astype(np.float32)
    grid = np.linspace(-1, 1, 28, dtype=np.float32)
    cx, cy = np.tanh(z[:, :1, None]), np.tanh(z[:, 1:, None])
    images = np.exp(-((grid[None, None, :] - cx) ** 2 + (grid[None, :, None] - cy) ** 2) * 4)
    images = (np.round(images * 255) / 255).astype(np.float32)[..., None]
    return z, images


def build_model(keras):
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((LATENT,)),
        layers.Dense(7 * 7 * 64, activation="relu"),
        layers.Reshape((7, 7, 64)),
        layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    return model


class FitWorker:
    """A Keras-API library (`module`): one `fit` epoch per round."""

    def __init__(self, module, rows, build=build_model, data=make_data, batch=BATCH):
        if module == "lamina":
            import lamina as keras
        else:
            import keras
        self.x, self.y = data(rows)
        self.model = build(keras)
        self.batch = batch
        self.steps = -(-rows // batch)

    def run(self):
        history = self.model.fit(self.x, self.y, batch_size=self.batch, epochs=1, verbose=0,
                                 shuffle=True)
        return self.steps, float(history.history["loss"][-1])


def epoch_mean(losses, batch, last=None, last_rows=0):
    """The epoch's loss as `fit` reports it, from a jitted epoch's per-step losses: Keras's
    loss tracker is a `Mean` updated with each batch's loss weighted by the batch's row count,
    so a partial last batch (`last`, of `last_rows` rows) counts for its rows only. (The last
    batch's loss alone, reported before, is one noisy sample, not the quantity `fit` gives.)"""
    total, rows = losses.sum() * batch, losses.shape[0] * batch
    if last is not None:
        total, rows = total + last * last_rows, rows + last_rows
    return total / rows


def scan_epoch(loss_fn, params, optimizer, x, y, rows, batch):
    """A jitted epoch of hand-written JAX: on-device shuffle, `lax.scan` over full batches,
    one step for the partial one; returns `run()` giving (steps, the epoch's mean loss)."""
    import jax
    from jax import lax
    import optax

    def step(state, batch_arrays):
        p, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(p, *batch_arrays)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return (optax.apply_updates(p, updates), opt_state), loss

    full = rows // batch

    @jax.jit
    def epoch(state, x, y, key):
        order = jax.random.permutation(key, rows)
        idx = order[: full * batch].reshape(full, batch)
        state, losses = lax.scan(lambda s, i: step(s, (x[i], y[i])), state, idx)
        if rows % batch:
            rest = order[full * batch:]
            state, last = step(state, (x[rest], y[rest]))
            return state, epoch_mean(losses, batch, last, rows % batch)
        return state, epoch_mean(losses, batch)

    holder = {"state": (params, optimizer.init(params)), "key": jax.random.PRNGKey(1)}
    x, y = jax.numpy.asarray(x), jax.numpy.asarray(y)

    def run():
        holder["key"], sub = jax.random.split(holder["key"])
        holder["state"], loss = epoch(holder["state"], x, y, sub)
        return -(-rows // batch), float(loss)
    return run


def jax_vae(rows, form):
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    from lamina.layers.convolution import transpose_padding
    from lamina.ops._convolution import _scatter_transposed, transposed_convolution

    def deconv(x, w, stride):
        if form == "plain":
            return lax.conv_transpose(x, w, (stride, stride), "SAME",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                      transpose_kernel=True)
        pads = tuple([transpose_padding(3, stride, 1, "same", None)] * 2)
        if form == "scatter":
            return _scatter_transposed(x, w, (stride, stride), pads, (1, 1))
        return transposed_convolution(x, w, (stride, stride), pads, (1, 1), False)

    def glorot(key, shape, fan_in, fan_out):
        limit = np.sqrt(6 / (fan_in + fan_out))
        return jax.random.uniform(key, shape, jnp.float32, -limit, limit)

    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    params = {
        "dense": glorot(keys[0], (LATENT, 3136), LATENT, 3136), "b0": jnp.zeros(3136),
        "t1": glorot(keys[1], (3, 3, 64, 64), 576, 576), "b1": jnp.zeros(64),
        "t2": glorot(keys[2], (3, 3, 32, 64), 576, 288), "b2": jnp.zeros(32),
        "t3": glorot(keys[3], (3, 3, 1, 32), 288, 9), "b3": jnp.zeros(1)}

    def loss_fn(p, z, images):
        h = jax.nn.relu(z @ p["dense"] + p["b0"]).reshape(-1, 7, 7, 64)
        h = jax.nn.relu(deconv(h, p["t1"], 2) + p["b1"])
        h = jax.nn.relu(deconv(h, p["t2"], 2) + p["b2"])
        out = jax.nn.sigmoid(deconv(h, p["t3"], 1) + p["b3"])
        out = jnp.clip(out, 1e-7, 1 - 1e-7)
        return -jnp.mean(images * jnp.log(out) + (1 - images) * jnp.log(1 - out))

    x, y = make_data(rows)
    return scan_epoch(loss_fn, params, optax.adam(1e-3, eps=1e-7), x, y, rows, BATCH)


class FnWorker:
    def __init__(self, run):
        self.run = run


def worker_main(kind, rows):
    if kind in ("lamina", "keras"):
        worker = FitWorker(kind, rows)
    else:
        worker = FnWorker(jax_vae(rows, form={"jax-plain": "plain", "jax-scatter": "scatter"}
                                  .get(kind, "lamina")))
    serve(worker)


def serve(worker):
    """The worker's loop: one round per "run" line on stdin, a JSON reply per round."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        start = time.perf_counter()
        steps, loss = worker.run()
        print(json.dumps({"seconds": time.perf_counter() - start, "steps": steps,
                          "loss": loss}), flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"max_rss_mb": rss}), flush=True)


# ----------------------------------------------------------------------------- driver
class Side(WorkerProcess):
    def __init__(self, name, command, env):
        self.samples, self.first, self.loss, self.max_rss_mb = [], None, None, None
        super().__init__(name, command, env)

    def run(self):
        reply = self.ask("run")
        if self.first is None:
            self.first = reply
        else:
            self.samples.append(reply)
        self.loss = reply["loss"]

    def close(self):
        self.send("quit")
        reply = self.read()
        self.max_rss_mb = reply and reply.get("max_rss_mb")
        self.process.wait()

    def median_step(self):
        return statistics.median(s["seconds"] / s["steps"] for s in self.samples)


def side_specs(script, kinds, args, extra=()):
    """(name, command, env) per side; Keras on TensorFlow only when its Python exists."""
    specs = []
    base = [os.path.abspath(script), "--rows", str(args.rows), *extra, "--worker"]
    for name, kind in kinds:
        if kind != "keras":
            specs.append((name, [sys.executable, *base, kind], {}))
            continue
        specs += [(side, [python, *base, kind], env)
                  for side, python, env in keras_sides(args.tf_python)]
    skip = set(filter(None, args.skip.split(",")))
    return [s for s in specs if not any(word in s[0] for word in skip)]


def run_sides(specs, epochs):
    sides = []
    for name, command, env in specs:
        side = Side(name, command, env)
        if side.ok:
            sides.append(side)
        else:
            print(f"({name}: could not start, not measured)")
    for _ in range(epochs):
        for side in sides:
            side.run()
    for side in sides:
        side.close()
    return sides


def report(title, sides, tolerance, flops=None, workload=None):
    """Prints the side-by-side table; with `workload`, also one `_results.emit` line per ratio
    (failed sides, whose loss is off, are emitted with `"failure": true`)."""
    print(title)
    times = {s.name: s.median_step() for s in sides}
    lamina = next((s for s in sides if s.name == "lamina"), None)
    for side in sides:
        t = times[side.name]
        line = (f"  {side.name:42s} {t * 1e3:8.2f} ms/step  first round "
                f"{side.first['seconds']:6.1f} s  epoch loss {side.loss:.4f}  peak RSS "
                f"{side.max_rss_mb or 0:6.0f} MB")
        if flops:
            line += f"  {flops / t / 1e9:5.1f} GFLOP/s"
        # `not ... <=`: a NaN loss fails too.
        if lamina is not None and side is not lamina and not abs(
                side.loss - lamina.loss) <= tolerance:
            line += f"  FAILURE: loss differs from lamina's by more than {tolerance}"
        print(line)
    if lamina is not None:
        for side in sides:
            if side is lamina:
                continue
            ratio = times[side.name] / times["lamina"]
            print(f"  {side.name} / lamina = {ratio:.2f}")
            if workload:
                _results.emit(workload, side.name, ratio,
                              failure=not abs(side.loss - lamina.loss) <= tolerance,
                              peak_rss_mb=side.max_rss_mb, lamina_peak_rss_mb=lamina.max_rss_mb,
                              first_round_s=side.first["seconds"],
                              lamina_first_round_s=lamina.first["seconds"])


def parser_for(doc, rows):
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=rows)
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated words of side names to skip")
    # Every side reports its last epoch's mean loss (`epoch_mean`); agreeing sides still differ
    # by their own random initial weights and shuffling. 0.1 is for full runs, whose epochs
    # have trained that away (run_all.py's quick mode, a few dozen steps, passes 0.2).
    parser.add_argument("--loss-tolerance", type=float, default=0.1,
                        help="largest difference of the epoch mean loss from lamina's that "
                        "passes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def main():
    args = parser_for(__doc__, ROWS).parse_args()
    if args.worker:
        return worker_main(args.worker, args.rows)
    kinds = [("lamina", "lamina"), ("hand-written jax (same formulation)", "jax"),
             ("hand-written jax (scatter form everywhere)", "jax-scatter"),
             ("hand-written jax (lax.conv_transpose)", "jax-plain"), ("keras 3 (jax)", "keras")]
    sides = run_sides(side_specs(__file__, kinds, args), args.epochs)
    report(f"VAE decoder, {args.rows} rows, batch {BATCH}: median of {args.epochs - 1} rounds "
           "after the first", sides, args.loss_tolerance, workload="VAE decoder step")


if __name__ == "__main__":
    main()
