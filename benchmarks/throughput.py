"""Rows per second of `model.predict` and `model.evaluate`: lamina vs Keras 3 (JAX, TensorFlow)
vs hand-written JAX.

Two models, each with the same weights on every side: the book's MLP of fit_mlp.py (8 features
-> Dense(30, selu) -> Dense(1), MSE) and the small CNN of fit_cnn.py (two Conv2D+MaxPooling2D,
Dense(128), Dense(10), sparse categorical cross-entropy from logits), over 60,000 generated
rows (their `make_data`), at Keras's default batch size (32) and a larger one (1024):
`model.predict(x, batch_size=b, verbose=0)` and `model.evaluate(x, y, batch_size=b,
verbose=0)`, NumPy arrays in, NumPy arrays (or the loss) out.

Sides, each in its own process (a process holds one Keras backend), take turns call by call,
so that machine noise hits them alike:

* lamina;
* Keras 3 on JAX, the same code with `import keras`;
* Keras 3 on TensorFlow, from `--tf-python` (default /tmp/tfvenv/bin/python); a side that
  cannot start says so and the others still report;
* hand-written JAX: one jitted function per call that runs the forward pass over the same
  batches (`lax.map` over the full batches, then the partial one), with the NumPy array moved
  to the device and the result back to NumPy: what the hardware gives, the reference. The
  CNN uses lamina's convolution and pooling formulation (`lamina.layers._conv_kernels`), as
  fit_cnn.py's hand-written side does.

The lamina side saves its initial weights (`get_weights`) and every other side loads them
(`set_weights`, or as parameters); after the timed rounds each side's predictions (batch
1024) and evaluation losses are compared with lamina's, and a side that disagrees by more
than the tolerance is reported as a FAILURE, not as a speed-up.

Reported: medians over the rounds after the first (the first call of each kind includes
tracing and compilation, reported apart) of wall-clock time as rows per second, and of the
process's CPU time (all its threads); ratios lamina / other in rows per second, printed
through `_results.emit`. A sample after the first repeats its call for at least
`--min-seconds` and takes the mean per call, so that calls of a few milliseconds are not
timed one by one.

    python benchmarks/throughput.py [--rounds 4] [--rows 60000] [--models mlp,cnn]
                                    [--batch-sizes 32,1024] [--skip tensorflow]
                                    [--min-seconds 0.5]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import _results
import fit_cnn
import fit_mlp
from _worker import WorkerProcess, default_tf_python, keras_sides

DEFAULT_TF_PYTHON = default_tf_python()
ROWS = 60000
OPS = ("predict", "evaluate")


def make_data(model_name, rows):
    if model_name == "mlp":
        return fit_mlp.make_data(rows)
    return fit_cnn.make_data(rows)


def build(model_name, keras):
    if model_name == "mlp":
        return fit_mlp.build_model(keras)
    return fit_cnn.build_keras_model(keras)


# ----------------------------------------------------------------------------- workers
class KerasAPIWorker:
    """lamina or Keras 3 (the backend is the process's KERAS_BACKEND)."""

    def __init__(self, module, model_name, rows, weights):
        if module == "lamina":
            import lamina as keras
        else:
            import keras
        self.x, self.y = make_data(model_name, rows)
        self.model = build(model_name, keras)
        if os.path.exists(weights):
            with np.load(weights) as saved:
                self.model.set_weights([saved[f"w{i}"] for i in range(len(saved.files))])
        else:
            np.savez(weights, **{f"w{i}": w for i, w in enumerate(self.model.get_weights())})

    def predict(self, batch):
        return np.asarray(self.model.predict(self.x, batch_size=batch, verbose=0))

    def evaluate(self, batch):
        return float(self.model.evaluate(self.x, self.y, batch_size=batch, verbose=0))


class JaxWorker:
    """Hand-written JAX: a jitted forward pass over the batches, and the mean loss."""

    def __init__(self, model_name, rows, weights):
        import jax
        import jax.numpy as jnp
        from jax import lax

        self.x, self.y = make_data(model_name, rows)
        with np.load(weights) as saved:
            params = [jnp.asarray(saved[f"w{i}"]) for i in range(len(saved.files))]

        if model_name == "mlp":
            def forward(p, x):
                return jax.nn.selu(x @ p[0] + p[1]) @ p[2] + p[3]

            def loss(y, out):
                return jnp.mean(jnp.square(out - y), axis=-1)
        else:
            from lamina.layers import _conv_kernels as kernels

            def block(x, w, b):
                h = jax.nn.relu(kernels.conv(x, w, (1, 1), "VALID", (1, 1),
                                             channels_first=False) + b)
                return kernels.max_pool(h, (2, 2), (2, 2), "VALID", channels_first=False)

            def forward(p, x):
                h = block(block(x, p[0], p[1]), p[2], p[3])
                h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p[4] + p[5])
                return h @ p[6] + p[7]

            def loss(y, logits):
                return jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(
                    logits, y[:, None], axis=-1)[:, 0]

        def batches(x, batch):
            full = x.shape[0] // batch
            head = x[:full * batch].reshape((full, batch) + x.shape[1:])
            return head, x[full * batch:]

        def predict(p, x, batch):
            head, rest = batches(x, batch)
            out = lax.map(lambda xb: forward(p, xb), head)
            out = out.reshape((-1,) + out.shape[2:])
            return jnp.concatenate([out, forward(p, rest)]) if rest.shape[0] else out

        def evaluate(p, x, y, batch):
            (xh, xr), (yh, yr) = batches(x, batch), batches(y, batch)
            total = lax.map(lambda b: loss(b[1], forward(p, b[0])).sum(), (xh, yh)).sum()
            if xr.shape[0]:
                total = total + loss(yr, forward(p, xr)).sum()
            return total / x.shape[0]

        self.params = params
        self._predict = jax.jit(predict, static_argnums=2)
        self._evaluate = jax.jit(evaluate, static_argnums=3)
        self.jnp = jnp

    def predict(self, batch):
        return np.asarray(self._predict(self.params, self.jnp.asarray(self.x), batch))

    def evaluate(self, batch):
        return float(self._evaluate(self.params, self.jnp.asarray(self.x),
                                    self.jnp.asarray(self.y), batch))


def worker_main(kind, model_name, rows, weights):
    worker = JaxWorker(model_name, rows, weights) if kind == "jax" else \
        KerasAPIWorker(kind, model_name, rows, weights)
    print(json.dumps({"ready": True}), flush=True)
    kept = None
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "save":
            np.save(words[1], kept)
            print(json.dumps({"saved": words[1]}), flush=True)
            continue
        op, batch, min_seconds = words[0], int(words[1]), float(words[2])
        # Calls repeated for at least `min_seconds` (a short call's time on a loaded machine
        # is mostly scheduling noise); the mean per call is the sample.
        calls, wall, cpu = 0, time.perf_counter(), time.process_time()
        while True:
            result = getattr(worker, op)(batch)
            calls += 1
            if time.perf_counter() - wall >= min_seconds:
                break
        wall, cpu = (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls
        if op == "predict":
            kept, result = result, None
        print(json.dumps({"seconds": wall, "cpu": cpu, "calls": calls, "result": result}),
              flush=True)


# ----------------------------------------------------------------------------- driver
class Side(WorkerProcess):
    def __init__(self, name, command, env):
        self.first, self.samples, self.results = {}, {}, {}
        super().__init__(name, command, env, stderr=tempfile.TemporaryFile(mode="w+"))

    def run(self, op, batch, min_seconds):
        key = (op, batch)
        if key not in self.first:  # one call: compilation included
            self.first[key] = reply = self.ask(f"{op} {batch} 0")
        else:
            reply = self.ask(f"{op} {batch} {min_seconds}")
            self.samples.setdefault(key, []).append(reply)
        self.results[key] = reply["result"]

    def median(self, key, field="seconds"):
        return statistics.median(s[field] for s in self.samples[key])

    def close(self):
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        self.process.wait()


def side_specs(args, model_name, weights):
    base = [os.path.abspath(__file__), "--model", model_name, "--rows", str(args.rows),
            "--weights", weights, "--worker"]
    specs = [("lamina", [sys.executable, *base, "lamina"], {}),
             ("hand-written jax", [sys.executable, *base, "jax"], {})]
    specs += [(name, [python, *base, "keras"], env)
              for name, python, env in keras_sides(args.tf_python)]
    skip = set(filter(None, args.skip.split(",")))
    return [s for s in specs if not any(word in s[0] for word in skip)]


def agreement(sides, folder, tolerance):
    """{side name: (max abs prediction difference from lamina's, loss differences, ok)}."""
    outputs = {}
    for side in sides:
        path = os.path.join(folder, f"{len(outputs)}.npy")
        side.ask(f"save {path}")
        outputs[side.name] = np.load(path)
    reference = outputs["lamina"]
    scale = max(1.0, float(np.abs(reference).max()))
    lamina = next(s for s in sides if s.name == "lamina")
    found = {}
    for side in sides:
        predicted = outputs[side.name]
        diff = float(np.abs(predicted - reference).max()) if predicted.shape == \
            reference.shape else float("inf")
        losses = [abs(side.results[key] - lamina.results[key]) for key in side.results
                  if key[0] == "evaluate"]
        found[side.name] = (diff, max(losses, default=0.0),
                            diff <= tolerance * scale and max(losses, default=0.0) <= tolerance)
    return found


def measure(args, model_name):
    batches = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        weights = os.path.join(folder, "weights.npz")
        sides = []
        for name, command, env in side_specs(args, model_name, weights):
            side = Side(name, command, env)  # lamina first: it writes the weights
            if side.ok:
                sides.append(side)
            else:
                print(f"({name}: could not start, not measured: {side.why_not()})")
                if name == "lamina":
                    return
        try:
            for _ in range(args.rounds):
                for op in OPS:
                    for batch in batches:
                        for side in sides:
                            side.run(op, batch, args.min_seconds)
            checks = agreement(sides, folder, args.tolerance)
        finally:
            for side in sides:
                side.close()
    report(model_name, args, sides, batches, checks)


def report(model_name, args, sides, batches, checks):
    load = os.getloadavg()
    print(f"\n{model_name.upper()}, {args.rows} rows: rows/s, median of {args.rounds - 1} "
          f"rounds after the first (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    lamina = next(s for s in sides if s.name == "lamina")
    for op in OPS:
        for batch in batches:
            key = (op, batch)
            print(f"  {op} batch {batch}:")
            for side in sides:
                seconds, cpu = side.median(key), side.median(key, "cpu")
                print(f"    {side.name:22s} {args.rows / seconds:12,.0f} rows/s   CPU "
                      f"{cpu * 1e3:8.1f} ms/call   first call {side.first[key]['seconds']:6.2f} s"
                      + ("" if op == "predict" else f"   loss {side.results[key]:.5f}"))
            for side in sides:
                if side is lamina:
                    continue
                ratio = side.median(key) / lamina.median(key)
                cpu_ratio = side.median(key, "cpu") / lamina.median(key, "cpu")
                diff, loss_diff, ok = checks[side.name]
                print(f"    lamina / {side.name} = {ratio:.2f} (CPU time {cpu_ratio:.2f})"
                      + ("" if ok else f"   FAILURE: predictions differ by {diff:.2e}, losses "
                         f"by {loss_diff:.2e} (tolerance {args.tolerance})"))
                _results.emit(f"{model_name.upper()} {op} rows/s, batch {batch}", side.name,
                              ratio, failure=not ok, cpu_speedup=round(cpu_ratio, 4),
                              first_call_s=round(side.first[key]["seconds"], 4),
                              lamina_first_call_s=round(lamina.first[key]["seconds"], 4))
    for side in sides:
        diff, loss_diff, ok = checks[side.name]
        if side is not lamina:
            print(f"  {side.name}: predictions within {diff:.1e} of lamina's, losses within "
                  f"{loss_diff:.1e}" + ("" if ok else "  FAILURE"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4,
                        help="calls of each kind per side; the first is reported apart")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--min-seconds", type=float, default=0.5,
                        help="a sample repeats its call for at least this long (mean per call)")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--batch-sizes", default="32,1024")
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated words of side names to skip")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest prediction difference from lamina's (relative to the "
                        "largest output, or absolute below 1) and loss difference that passes")
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.model, args.rows, args.weights)
    if args.rounds < 2:
        parser.error(f"--rounds must be at least 2 (the first is compilation). Received: "
                     f"{args.rounds}")
    for model_name in args.models.split(","):
        measure(args, model_name)


if __name__ == "__main__":
    main()
