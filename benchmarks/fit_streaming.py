"""Epoch time with streamed input vs the same data passed as arrays (issue 17, item 5).

Three ways to feed one model the same rows, in batches of 128, measured epoch by epoch in
turn (arrays, generator, Grain) so that machine noise hits all of them:

* arrays: `fit(x, y, batch_size=128)`, held on the device, batches gathered by index;
* generator: an endless Python generator of NumPy slices, `steps_per_epoch` batches an epoch;
* Grain loader: a `grain.DataLoader` over a source whose records are whole batches
  (`worker_count=0`), a new pass each epoch;
* Grain rows: a `grain.MapDataset` of rows batched by Grain (`.batch(128)`), whose per-row
  Python work is Grain's own cost; its reading time alone is printed beside it.

The streamed forms run through the prefetch thread (`lamina/training/prefetch.py`). Two
models: an MLP (784 -> 256 -> 256 -> 10) and a small CNN (two 3x3 convolutions and pooling on
28x28x1). Reports the median epoch time per side and the ratio to arrays (target <= 1.2x),
in wall-clock time and in this process's CPU time (all its threads: XLA's, the prefetch
thread's), which other programs on a shared machine disturb much less, and the load average
while it ran. For run_all.py, each streamed form's `RESULT` line (`_results.emit`) gives the
arrays epoch over its epoch (wall clock; CPU time beside it): 1 means streaming costs
nothing, 0.83 is the 1.2x target.

With `--old-handoff`, two more sides run the generator and the Grain loader through the
hand-off as it was before (whole groups of 32 from the epoch's start, each stacked into a
freshly allocated buffer), side by side with the current one.

    python benchmarks/fit_streaming.py [--epochs 7] [--rows 8192] [--old-handoff]
"""

import argparse
import os
import statistics
import time

import numpy as np

import _results
import lamina as keras
from lamina.training import data as data_lib
from lamina.training import host_buffers

BATCH = 128


def mlp():
    return keras.Sequential([
        keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])


def compiled(build):
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def generator(x, y):
    while True:
        for start in range(0, len(x) - BATCH + 1, BATCH):
            yield x[start:start + BATCH], y[start:start + BATCH]


class _Batches:
    """A random-access source whose records are whole batches (slices of the arrays)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x) // BATCH

    def __getitem__(self, index):
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[rows], self.y[rows]


def grain_loader(x, y):
    """A grain.DataLoader reading batch records in order (worker_count=0), one pass an epoch."""
    import grain

    source = _Batches(x, y)
    return grain.DataLoader(
        data_source=source, worker_count=0,
        sampler=grain.samplers.IndexSampler(len(source), shuffle=False, num_epochs=1))


def grain_rows(x, y):
    """A grain.MapDataset of single rows batched by Grain (per-record work in Python)."""
    import grain

    return grain.MapDataset.source(_Rows(x, y)).batch(BATCH, drop_remainder=True)


class _Rows:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


def read_time(source, steps):
    """Seconds to pull one epoch of batches from a source, without training."""
    start = time.perf_counter()
    iterator = iter(source)
    for _ in range(steps):
        next(iterator)
    return time.perf_counter() - start


_CURRENT = (data_lib.FIRST_GROUP, data_lib.HOST_BUFFERS)
_OLD = (32, host_buffers.HostBuffers(keep_bytes=0))  # whole groups, a fresh buffer each


def handoff(settings, run):
    """`run` with the prefetch thread's grouping and buffers set to `settings`."""
    def with_settings(model):
        data_lib.FIRST_GROUP, data_lib.HOST_BUFFERS = settings
        try:
            run(model)
        finally:
            data_lib.FIRST_GROUP, data_lib.HOST_BUFFERS = _CURRENT
    return with_settings


def measure(name, build, x, y, epochs, old_handoff=False):
    steps = len(x) // BATCH
    stream = generator(x, y)
    loader, rows = grain_loader(x, y), grain_rows(x, y)
    runs = {
        "arrays": lambda m: m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0),
        "generator": lambda m: m.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0),
        "grain loader": lambda m: m.fit(loader, epochs=1, verbose=0),
        "grain rows": lambda m: m.fit(rows, epochs=1, verbose=0),
    }
    if old_handoff:
        runs["generator, old"] = handoff(_OLD, runs["generator"])
        runs["grain loader, old"] = handoff(_OLD, runs["grain loader"])
    models = {side: compiled(build) for side in runs}
    for side, run in runs.items():
        run(models[side])  # compiles
    times = {side: [] for side in runs}
    cpu = {side: [] for side in runs}
    load = os.getloadavg()[0]
    for _ in range(epochs):
        for side, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run(models[side])
            times[side].append(time.perf_counter() - start)
            cpu[side].append(time.process_time() - start_cpu)
    load = (load + os.getloadavg()[0]) / 2
    reads = {"generator": read_time(generator(x, y), steps),
             "grain loader": read_time(loader, steps), "grain rows": read_time(rows, steps)}
    medians = {side: statistics.median(values) for side, values in times.items()}
    cpu_medians = {side: statistics.median(values) for side, values in cpu.items()}
    print(f"\n{name}: {len(x)} rows, batch {BATCH}, {steps} steps/epoch, median of {epochs} "
          f"epochs (sides alternate); load average {load:.1f} on {os.cpu_count()} cores")
    for side, value in medians.items():
        read = f"   (reading alone: {reads[side] * 1e3:7.1f} ms)" if side in reads else ""
        cpu_value = cpu_medians[side]
        print(f"  {side:17s} {value * 1e3:8.1f} ms/epoch  {value / medians['arrays']:5.2f}x "
              f"arrays | CPU {cpu_value * 1e3:8.1f} ms  {cpu_value / cpu_medians['arrays']:5.2f}x"
              f"{read}")
        if side != "arrays":
            # The arrays epoch over the streamed one: 1 means streaming costs nothing.
            _results.emit(f"{name.split()[0]} epoch, {side} input", "arrays input (same model)",
                          medians["arrays"] / value,
                          cpu_speedup=round(cpu_medians["arrays"] / cpu_value, 4),
                          load_average=round(load, 1))
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--old-handoff", action="store_true",
                        help="also run the generator and Grain loader sides through the "
                             "previous hand-off (whole groups, fresh buffers)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, args.rows).astype(np.int32)
    flat = rng.normal(size=(args.rows, 784)).astype(np.float32)
    measure("MLP 784-256-256-10", mlp, flat, y, args.epochs, args.old_handoff)
    images = flat[: args.rows // 2].reshape(-1, 28, 28, 1)
    measure("CNN conv16-pool-conv32-pool-dense", cnn, images, y[: args.rows // 2], args.epochs,
            args.old_handoff)


if __name__ == "__main__":
    main()
