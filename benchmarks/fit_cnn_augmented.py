"""The cost of on-device augmentation: the small CNN of fit_cnn.py with and without
RandomFlip + RandomRotation + RandomZoom in front, lamina vs Keras 3 on JAX and on TensorFlow.

The model is fit_cnn.py's (28x28x1 images, Conv2D(32) -> MaxPool -> Conv2D(64) -> MaxPool ->
Flatten -> Dense(128) -> Dense(10), Adam, batch 64, its generated data); the augmented one puts
`RandomFlip("horizontal")`, `RandomRotation(0.1)` and `RandomZoom(0.1)` (Keras's defaults
otherwise: reflect filling, bilinear) before it, so every training step draws and applies a
flip, a rotation and a zoom per image inside the compiled step; inference skips them.

Sides, each in its own process, run in turn epoch by epoch (so machine noise hits them alike):
lamina, Keras 3 on JAX, and Keras 3 on TensorFlow (if `--tf-python` has it; default
/tmp/tfvenv/bin/python), each plain and augmented. Reported: the median epoch time after the
first (which includes compilation, shown apart), the overhead of augmenting (augmented /
plain, per framework), and each side's time over lamina's (a side whose epoch loss differs from
lamina's by more than `--loss-tolerance` is a FAILURE); the augmented ratios are printed as
`RESULT` lines too (`_results.emit`) for run_all.py.

    python benchmarks/fit_cnn_augmented.py [--epochs 4] [--rows 12000]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fit_cnn import BATCH, build_keras_model, make_data, steps_per_epoch  # noqa: E402
import _results  # noqa: E402
from _worker import TENSORFLOW, WorkerProcess, default_tf_python, keras_sides  # noqa: E402

DEFAULT_TF_PYTHON = default_tf_python()
AGAINST = {"keras-jax": "keras 3 (jax)", "keras-tf": "keras 3 (tensorflow)"}


def build(keras, augmented):
    model = build_keras_model(keras)
    if not augmented:
        return model
    layers = keras.layers
    augmented_model = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.RandomFlip("horizontal", seed=1),
         layers.RandomRotation(0.1, seed=2), layers.RandomZoom(0.1, seed=3)]
        + list(model.layers))
    augmented_model.compile(optimizer=keras.optimizers.Adam(),
                            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return augmented_model


def worker_main(module, augmented, rows):
    if module == "lamina":
        import lamina as keras
    else:
        import keras
    x, y = make_data(rows)
    model = build(keras, augmented)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        elapsed = time.perf_counter() - start
        print(json.dumps({"seconds": elapsed, "loss": history.history["loss"][-1]}),
              flush=True)


class Side(WorkerProcess):
    def __init__(self, name, module, augmented, python, env, rows):
        self.module, self.augmented = module, augmented
        self.first, self.samples, self.loss = None, [], None
        command = [python, os.path.abspath(__file__), "--worker", module, "--rows", str(rows)]
        if augmented:
            command.append("--augmented")
        super().__init__(name, command, env)

    def run(self):
        reply = self.ask("run")
        if self.first is None:
            self.first = reply["seconds"]
        else:
            self.samples.append(reply["seconds"])
        self.loss = reply["loss"]

    def close(self):
        self.send("quit")
        self.process.wait()

    def median(self):
        return statistics.median(self.samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=12000)
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated frameworks to leave out "
                        "(lamina, keras-jax, keras-tf)")
    parser.add_argument("--loss-tolerance", type=float, default=0.1,
                        help="largest difference of the epoch mean loss from lamina's that passes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--augmented", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.augmented, args.rows)

    skip = set(filter(None, args.skip.split(",")))
    short = {"keras 3 (jax)": "keras-jax", TENSORFLOW: "keras-tf"}
    frameworks = [("lamina", "lamina", sys.executable, {})] + [
        (short[name], "keras", python, env) for name, python, env in keras_sides(args.tf_python)]
    sides = []
    for name, module, python, env in frameworks:
        if name in skip:
            continue
        for augmented in (False, True):
            side = Side(f"{name} {'augmented' if augmented else 'plain'}", module, augmented,
                        python, env, args.rows)
            if side.ok:
                sides.append(side)
            else:
                print(f"({side.name}: could not start, skipped)")
    for _ in range(args.epochs):
        for side in sides:
            side.run()
    for side in sides:
        side.close()

    steps = steps_per_epoch(args.rows)
    print(f"CNN, {args.rows} images ({steps} steps of {BATCH}) per epoch; median of "
          f"{args.epochs - 1} epochs after the first")
    times = {side.name: side.median() for side in sides}
    for side in sides:
        t = times[side.name]
        print(f"  {side.name:24s} {t:7.2f} s/epoch  {t / steps * 1e3:7.2f} ms/step  "
              f"first epoch {side.first:6.1f} s  epoch loss {side.loss:.4f}")
    for name, *_ in frameworks:
        plain, augmented = times.get(f"{name} plain"), times.get(f"{name} augmented")
        if plain and augmented:
            print(f"  {name}: augmentation overhead {augmented / plain:.2f}x "
                  f"(+{(augmented - plain) / steps * 1e3:.2f} ms/step)")
    losses = {side.name: side.loss for side in sides}
    for kind in ("plain", "augmented"):
        base = times.get(f"lamina {kind}")
        for name, t in times.items():
            if base and name.endswith(kind) and not name.startswith("lamina"):
                gap = abs(losses[name] - losses[f"lamina {kind}"])
                failed = not gap <= args.loss_tolerance  # NaN fails too
                print(f"  {name} / lamina {kind} = {t / base:.2f}"
                      + (f"  FAILURE: epoch loss differs from lamina's by more than "
                         f"{args.loss_tolerance}" if failed else ""))
                framework = name.rsplit(" ", 1)[0]
                if kind == "augmented":
                    _results.emit("augmented CNN epoch", AGAINST[framework], t / base,
                                  failure=failed)


if __name__ == "__main__":
    main()
