"""Serving an exported model: lamina's `predict` and `model(x)` beside the exported artifacts,
JAX's StableHLO (`jax.export.deserialize(...).call`, no lamina, called as is and wrapped in
`jax.jit`, which caches the dispatch as a server would) and ONNX Runtime on the ONNX
file, for the book's regression MLP (8 -> 30 -> 1) and an MNIST-sized classifier
(784 -> 256 -> 10), at batch sizes 1 and 1024. NumPy in, NumPy out for every candidate, so the
transfers are counted alike. Medians of interleaved repeats; also the time each export takes.

    python benchmarks/export_serving.py
"""

import argparse
import os
import tempfile
import time

import jax
import numpy as np

import lamina
from _timing import interleaved


def build(features, hidden, outputs, activation):
    return lamina.Sequential([lamina.Input((features,)),
                              lamina.layers.Dense(hidden, activation=activation),
                              lamina.layers.Dense(outputs)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import onnxruntime

    folder = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    print("model            batch  predict_us  model(x)_us  stablehlo_us  jit(stablehlo)_us  "
          "onnxruntime_us  predict/jit(stablehlo)  predict/onnx")
    for name, shape in [("mlp 8-30-1", (8, 30, 1, "selu")), ("mlp 784-256-10", (784, 256, 10,
                                                                                   "relu"))]:
        model = build(*shape)
        start = time.perf_counter()
        model.export(os.path.join(folder, name), format="stablehlo", verbose=False)
        stablehlo_s = time.perf_counter() - start
        start = time.perf_counter()
        model.export(os.path.join(folder, name + ".onnx"), format="onnx", verbose=False)
        onnx_s = time.perf_counter() - start
        with open(os.path.join(folder, name, "serve.jax_exported"), "rb") as file:
            served = jax.export.deserialize(bytearray(file.read()))
        served_jit = jax.jit(served.call)
        session = onnxruntime.InferenceSession(os.path.join(folder, name + ".onnx"))
        input_name = session.get_inputs()[0].name
        for batch in (1, 1024):
            x = rng.normal(size=(batch, shape[0])).astype(np.float32)
            reference = model.predict(x, verbose=0)
            np.testing.assert_allclose(np.asarray(served.call(x)), reference, rtol=1e-4,
                                       atol=1e-5)
            np.testing.assert_allclose(session.run(None, {input_name: x})[0], reference,
                                       rtol=1e-4, atol=1e-5)
            candidates = {
                "predict": lambda: model.predict(x, verbose=0),
                "call": lambda: np.asarray(model(x)),
                "stablehlo": lambda: np.asarray(served.call(x)),
                "jit": lambda: np.asarray(served_jit(x)),
                "onnx": lambda: session.run(None, {input_name: x}),
            }
            times = interleaved(candidates, args.calls, args.repeats,
                                {k: (lambda: None) for k in candidates})
            us = {k: v * 1e6 for k, v in times.items()}
            print(f"{name:16s} {batch:5d} {us['predict']:11.1f} {us['call']:12.1f} "
                  f"{us['stablehlo']:13.1f} {us['jit']:18.1f} {us['onnx']:15.1f} "
                  f"{times['predict'] / times['jit']:22.2f} "
                  f"{times['predict'] / times['onnx']:13.2f}")
        print(f"  export times: stablehlo {stablehlo_s:.2f} s, onnx {onnx_s:.2f} s "
              "(the first ONNX export in a process loads jax2onnx's plugins)")


if __name__ == "__main__":
    main()
