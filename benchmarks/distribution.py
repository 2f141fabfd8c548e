"""keras.distribution figures (issue 18), side by side in one run.

1. Overhead: an MLP epoch and a CNN epoch with plain `fit` and with `fit` under
   `DataParallel(devices=[one device])`, alternating epoch by epoch in one process; the
   median epoch times and their ratio (the target: DataParallel costs at most 5%).
2. Scaling: the same epochs under `DataParallel()` over 1, 2 and 8 simulated CPU devices
   (`XLA_FLAGS=--xla_force_host_platform_device_count=N`, one fresh process per count and
   library), lamina beside Keras 3 on JAX with the same `DataParallel`. Simulated devices
   share this machine's cores, so more devices cannot be faster than the cores allow: the
   figure measures what partitioning costs here, not what N real accelerators would gain.
3. Memory per device of a ModelParallel Dense stack (kernels split over an 8-way "model"
   axis) against the same stack replicated (DataParallel): bytes of Variables held by each
   device, read from the arrays' shards.

    python benchmarks/distribution.py [--epochs 5] [--counts 1 2 8] [--no-keras]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

MLP_ROWS, MLP_FEATURES, MLP_BATCH = 11616, 8, 32  # batch divisible by 8 devices
CNN_ROWS, CNN_BATCH = 2048, 64


def mlp_data():
    rng = np.random.default_rng(42)
    x = rng.normal(size=(MLP_ROWS, MLP_FEATURES)).astype(np.float32)
    w = rng.normal(size=(MLP_FEATURES, 1)).astype(np.float32)
    return x, np.tanh(x @ w).astype(np.float32)


def cnn_data():
    rng = np.random.default_rng(7)
    x = rng.random((CNN_ROWS, 28, 28, 1), dtype=np.float32)
    return x, rng.integers(0, 10, size=(CNN_ROWS,)).astype(np.int32)


def build(keras, kind):
    keras.utils.set_random_seed(0)
    layers = keras.layers
    if kind == "mlp":
        model = keras.Sequential([
            keras.Input((MLP_FEATURES,)),
            layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"),
            layers.Dense(1)])
        model.compile(loss="mse", optimizer="nadam")
        return model
    model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="adam")
    return model


def epoch_runner(keras, kind, distribution=None):
    """A function running one epoch of `kind` (under `distribution`), after a first epoch."""
    x, y = mlp_data() if kind == "mlp" else cnn_data()
    batch = MLP_BATCH if kind == "mlp" else CNN_BATCH
    if distribution is None:
        model = build(keras, kind)
    else:
        with distribution.scope():
            model = build(keras, kind)

    def epoch():
        if distribution is None:
            return model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        with distribution.scope():
            return model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    start = time.perf_counter()
    epoch()
    return epoch, time.perf_counter() - start


def timed(epoch):
    start = time.perf_counter()
    epoch()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- 1. overhead
def overhead(epochs):
    import jax

    import lamina

    one = lamina.distribution.DataParallel(devices=[jax.devices()[0]])
    rows = {}
    for kind in ("mlp", "cnn"):
        plain, _ = epoch_runner(lamina, kind)
        dp, _ = epoch_runner(lamina, kind, one)
        samples = {"plain": [], "dp": []}
        for _ in range(epochs):
            samples["plain"].append(timed(plain))
            samples["dp"].append(timed(dp))
        rows[kind] = {name: statistics.median(values) for name, values in samples.items()}
    return rows


# ----------------------------------------------------------------------------- 2. scaling
def scaling_worker(library, kind, epochs):
    if library == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
        import keras
    else:
        import lamina as keras
    import jax

    distribution = keras.distribution.DataParallel()
    epoch, first = epoch_runner(keras, kind, distribution)
    times = [timed(epoch) for _ in range(epochs)]
    print(json.dumps({"devices": jax.device_count(), "first": first,
                      "epoch": statistics.median(times)}))


def run_worker(library, kind, count, epochs):
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={count}",
           "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, __file__, "--worker", library, kind, str(epochs)], env=env,
        capture_output=True, text=True, timeout=1800)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        why = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        return {"error": why[-1]}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- 3. memory
def memory_worker():
    import lamina as keras
    from lamina.distribution import DataParallel, DeviceMesh, LayoutMap, ModelParallel

    def stack():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((1024,))] + [
            keras.layers.Dense(1024, name=f"dense_{i}") for i in range(4)])

    def per_device(model):
        held = {}
        for variable in model.weights:
            for shard in variable.value.addressable_shards:
                held[shard.device.id] = held.get(shard.device.id, 0) + shard.data.nbytes
        return max(held.values())

    with DataParallel().scope():
        replicated = per_device(stack())
    mesh = DeviceMesh((1, 8), ("batch", "model"))
    layout_map = LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    layout_map[".*bias"] = ("model",)
    with ModelParallel(layout_map=layout_map).scope():
        sharded = per_device(stack())
    print(json.dumps({"replicated": replicated, "model_parallel": sharded}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--no-keras", action="store_true")
    args = parser.parse_args()

    print("1. DataParallel on one device vs plain fit (medians of "
          f"{args.epochs} alternating epochs)")
    for kind, row in overhead(args.epochs).items():
        print(f"   {kind}: plain {row['plain'] * 1e3:8.1f} ms   DataParallel(1) "
              f"{row['dp'] * 1e3:8.1f} ms   ratio {row['dp'] / row['plain']:.3f}")

    print("2. DataParallel over N simulated devices (median epoch, first epoch)")
    libraries = ["lamina"] + ([] if args.no_keras else ["keras"])
    for kind in ("mlp", "cnn"):
        base = {}
        for count in args.counts:
            cells = []
            for library in libraries:
                found = run_worker(library, kind, count, args.epochs)
                if "error" in found:
                    cells.append(f"{library}: {found['error'][:60]}")
                    continue
                base.setdefault(library, found["epoch"])
                efficiency = base[library] / found["epoch"]  # time(1) / time(N)
                cells.append(f"{library} {found['epoch'] * 1e3:8.1f} ms (first "
                             f"{found['first']:.1f} s, speed vs {args.counts[0]} device(s) "
                             f"{efficiency:.2f}x)")
            print(f"   {kind} N={count}: " + " | ".join(cells))

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, __file__, "--memory"], env=env,
                            capture_output=True, text=True, timeout=600)
    memory = json.loads(result.stdout.strip().splitlines()[-1])
    print("3. Variables per device, Dense(1024) x 4 on 8 devices: replicated "
          f"{memory['replicated'] / 1e6:.2f} MB, ModelParallel {memory['model_parallel'] / 1e6:.2f}"
          f" MB (ratio {memory['model_parallel'] / memory['replicated']:.3f}; 1/8 = 0.125)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        scaling_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--memory":
        memory_worker()
    else:
        main()
