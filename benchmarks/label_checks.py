"""What refusing bad sparse labels costs: the host check beside one `min` + `max` of the labels,
and beside the epoch of training it guards.

`fit` checks integer class labels once per array before the first step (out of range,
negative or fractional labels would otherwise train with a loss of 0); a generator's batches
are checked one by one as they arrive. Run: `../.venv/bin/python label_checks.py`.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import interleaved  # noqa: E402

import lamina as keras  # noqa: E402
from lamina.training.checks import SparseLabels, check_sparse_labels  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    spec = SparseLabels(10, set(), ["loss 'sparse_categorical_crossentropy'"])
    print("| labels | check | one min + max | ratio |\n|---|---|---|---|")
    for dtype in ("int32", "float32"):
        labels = rng.integers(0, 10, 10**6).astype(dtype)
        times = interleaved(
            {"check": lambda labels=labels: check_sparse_labels(labels, spec, "y", "dense"),
             "minmax": lambda labels=labels: (labels.min(), labels.max())},
            calls=20, repeats=7, sync={"check": lambda: None, "minmax": lambda: None})
        print(f"| 10^6 {dtype} | {times['check'] * 1e3:.2f} ms | "
              f"{times['minmax'] * 1e3:.2f} ms | {times['check'] / times['minmax']:.2f}x |")

    # Beside training: one epoch of a small classifier on 10^5 rows, batch 32.
    x = rng.normal(size=(10**5, 20)).astype("float32")
    y = rng.integers(0, 10, 10**5).astype("int32")
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # compile
    times = interleaved(
        {"epoch": lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0),
         "check": lambda: check_sparse_labels(y, spec, "y", "dense")},
        calls=1, repeats=5, sync={"epoch": lambda: None, "check": lambda: None})
    print(f"\none epoch on 10^5 rows: {times['epoch'] * 1e3:.0f} ms; the label check: "
          f"{times['check'] * 1e3:.3f} ms ({times['check'] / times['epoch']:.3%} of it)")


if __name__ == "__main__":
    main()
