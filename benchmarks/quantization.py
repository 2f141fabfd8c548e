"""Quantization figures (issue 19, item 2): `.keras` size, `predict` throughput and accuracy,
float against `model.quantize("int8" | "int4" | "float8")`, side by side in one run.

Two models:

* the demo's digits classifier (`examples/demo.py`: Conv2D -> MaxPooling -> Flatten -> Dropout
  -> Dense(32) -> Dense(10) on scikit-learn's 8x8 digits), trained once here as the demo trains
  it (Adam, batch 32, 10 epochs, validation_split=0.1); only its two Dense layers quantize (the
  convolution has no quantized form, as in Keras), so this one measures the accuracy change;
* a 784-1024-1024-10 MLP (random weights), where the Dense kernels are nearly all of the file,
  so the size and speed effects of quantization show.

Throughput: `predict` on 4096 rows in batches of 256, median of interleaved repeats (every
variant timed in turn each round, so machine noise hits all alike).

    python benchmarks/quantization.py [--repeats 5] [--keras]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

import lamina as keras  # noqa: E402
from demo import digits_model, load_data  # noqa: E402

MODES = ("int8", "int4", "float8")


def _variants(float_path, folder):
    """{name: (model, .keras bytes)} for the float model and each quantized mode."""
    variants = {"float32": (keras.saving.load_model(float_path), os.path.getsize(float_path))}
    for mode in MODES:
        model = keras.saving.load_model(float_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the layers with no quantized form
            model.quantize(mode)
        path = os.path.join(folder, f"{mode}.keras")
        model.save(path)
        variants[mode] = (keras.saving.load_model(path), os.path.getsize(path))
    return variants


def _throughput(variants, rows, repeats):
    """{name: median rows per second of predict}."""
    for model, _ in variants.values():
        model.predict(rows, batch_size=256, verbose=0)  # compile
    samples = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (model, _) in variants.items():
            start = time.perf_counter()
            model.predict(rows, batch_size=256, verbose=0)
            samples[name].append(len(rows) / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}


def _keras_variants(float_path, folder):
    """The same, quantized by Keras 3 on JAX from the same float file."""
    os.environ["KERAS_BACKEND"] = "jax"
    import keras as real_keras

    variants = {"float32": (real_keras.saving.load_model(float_path),
                            os.path.getsize(float_path))}
    for mode in MODES:
        model = real_keras.saving.load_model(float_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.quantize(mode)
        path = os.path.join(folder, f"keras_{mode}.keras")
        model.save(path)
        variants[mode] = (model, os.path.getsize(path))
    return variants


def _table(title, variants, speed, accuracy=None):
    print(f"\n{title}")
    header = f"{'variant':<9} {'.keras bytes':>13} {'size ratio':>10} {'rows/s':>10} " \
             f"{'speed ratio':>11}"
    print(header + (f" {'accuracy':>9}" if accuracy else ""))
    base_size, base_speed = variants["float32"][1], speed["float32"]
    for name, (_, size) in variants.items():
        line = (f"{name:<9} {size:>13,} {size / base_size:>10.2f} {speed[name]:>10,.0f} "
                f"{speed[name] / base_speed:>11.2f}")
        print(line + (f" {accuracy[name]:>9.4f}" if accuracy else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--keras", action="store_true",
                        help="also time Keras 3 (JAX) on the MLP, quantized from the same file")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    folder = tempfile.mkdtemp(prefix="lamina_quantization_")

    _, ((x_train, y_train), (x_test, y_test)) = load_data()
    model = digits_model()
    model.fit(x_train, y_train, validation_split=0.1, epochs=args.epochs, batch_size=32,
              verbose=0)
    float_path = os.path.join(folder, "digits.keras")
    model.save(float_path)
    digits = _variants(float_path, folder)
    accuracy = {}
    for name, (variant, _) in digits.items():
        predicted = np.argmax(variant.predict(x_test, batch_size=256, verbose=0), axis=-1)
        accuracy[name] = float(np.mean(predicted == y_test))
    rows = np.tile(x_test, (12, 1, 1, 1))[:4096]
    _table(f"digits classifier (demo, {len(x_test)} test images, {args.epochs} epochs)", digits,
           _throughput(digits, rows, args.repeats), accuracy)

    mlp = keras.Sequential([keras.Input((784,)), keras.layers.Dense(1024, activation="relu"),
                            keras.layers.Dense(1024, activation="relu"),
                            keras.layers.Dense(10)])
    mlp_path = os.path.join(folder, "mlp.keras")
    mlp.save(mlp_path)
    variants = _variants(mlp_path, folder)
    inputs = np.random.default_rng(0).standard_normal((4096, 784)).astype("float32")
    reference = variants["float32"][0].predict(inputs, batch_size=256, verbose=0)
    keras_variants = None
    if args.keras:
        try:
            keras_variants = _keras_variants(mlp_path, folder)
        except ImportError as error:  # the lamina side still reports
            print(f"(Keras 3 on JAX could not run, not measured: {error})")
    if keras_variants is not None:
        both = {**variants, **{f"keras {name}": value for name, value in keras_variants.items()}}
        speed = _throughput(both, inputs, args.repeats)
        _table("784-1024-1024-10 MLP: lamina", variants, speed)
        keras_side = {name[len("keras "):]: both[name] for name in both if name.startswith("k")}
        _table("784-1024-1024-10 MLP: Keras 3 on JAX (same float file)", keras_side,
               {name[len("keras "):]: speed[name] for name in both if name.startswith("k")})
        print("lamina / Keras predict throughput: " + ", ".join(
            f"{name} {speed[name] / speed['keras ' + name]:.2f}x" for name in variants))
    else:
        _table("784-1024-1024-10 MLP", variants, _throughput(variants, inputs, args.repeats))
    for mode in MODES:
        error = np.abs(variants[mode][0].predict(inputs, batch_size=256, verbose=0) - reference)
        print(f"  {mode}: max |output - float output| = {error.max():.4f} "
              f"(outputs' std {reference.std():.3f})")


if __name__ == "__main__":
    main()
