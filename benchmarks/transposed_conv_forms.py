"""The VAE decoder's training step (fit_vae_decoder.py's three Conv2DTranspose layers) inside a
`lax.scan`, with each CPU formulation of the transposed convolution: where its time goes.

Forms, each a hand-written JAX step of the same decoder (mean squared error, plain SGD, batch
128, 28x28 images), compiled once and timed in CPU seconds (process time, all threads), the
forms alternating round by round so that machine load hits them alike:

* `scatter, indexed`: what lamina ran before this change in every layer: one GEMM of each input
  position by the whole kernel, then each tap's product (taken by indexing) padded to its
  strided place and added;
* `scatter`: the same, the taps split with `lax.split` (the derivative then concatenates the
  taps' gradients instead of adding nine padded arrays);
* `phase`: the phase (sub-pixel) form in every layer: one GEMM of each input neighbourhood by
  the sub-kernels of all output phases, then one depth-to-space transpose;
* `lamina`: `transposed_convolution` as the layers call it (per layer, the form that keeps
  the fewer numbers: the phase form for the two stride-2 layers, the scatter form for the last
  layer, whose single output channel makes its GEMM product small).

Reported: median CPU ms per step and ratios to `lamina`, XLA's temporary buffer of the compiled
epoch, and with `--profile` the split of one epoch's time between GEMMs (YNNPACK fusions and
dots), copies/transposes and the other fusions (pads, slices, elementwise), from a
`jax.profiler` trace.

    python benchmarks/transposed_conv_forms.py [--steps 5] [--rounds 5] [--profile]
"""

import argparse
import collections
import glob
import gzip
import json
import os
import statistics
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
from jax import lax

import _results

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lamina.layers.convolution import transpose_padding  # noqa: E402
from lamina.ops import _convolution  # noqa: E402


def scatter_indexed(inputs, kernel, strides, padding, dilation):
    """The scatter form as lamina had it before (taps taken by indexing), channels last."""
    columns, configs = _convolution._scatter_columns(inputs, kernel, strides, padding,
                                                    dilation)
    outputs = None
    for number, config in enumerate(configs):
        placed = lax.pad(columns[..., number, :], jnp.zeros((), columns.dtype), config)
        outputs = placed if outputs is None else outputs + placed
    return outputs


def phase(inputs, kernel, strides, padding, dilation):
    rank = inputs.ndim - 2
    geometry = tuple(_convolution._phase_geometry(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi)
                     in zip(inputs.shape[1:-1], kernel.shape[:rank], strides, dilation, padding))
    return _convolution._phase_transposed(inputs, kernel, strides, geometry)


FORMS = {
    "scatter, indexed (before)": scatter_indexed,
    "scatter": _convolution._scatter_transposed,
    "phase": phase,
    "lamina": lambda x, w, *args: _convolution.transposed_convolution(x, w, *args, False),
}


def decoder_epoch(form):
    """A jitted epoch (`lax.scan` over batches) of the decoder's SGD steps with `form`."""
    def deconv(x, w, stride):
        pads = tuple([transpose_padding(3, stride, 1, "same", None)] * 2)
        return form(x, w, (stride, stride), pads, (1, 1))

    def loss(params, z, images):
        h = jax.nn.relu(z @ params["dense"]).reshape(-1, 7, 7, 64)
        h = jax.nn.relu(deconv(h, params["t1"], 2))
        h = jax.nn.relu(deconv(h, params["t2"], 2))
        return jnp.mean((jax.nn.sigmoid(deconv(h, params["t3"], 1)) - images) ** 2)

    @jax.jit
    def epoch(params, zs, images):
        def step(params, batch):
            grads = jax.grad(loss)(params, *batch)
            return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads), None
        return lax.scan(step, params, (zs, images))[0]
    return epoch


def inputs(steps):
    keys = jax.random.split(jax.random.PRNGKey(0), 6)
    params = {"dense": jax.random.normal(keys[0], (2, 3136)) * 0.1,
              "t1": jax.random.normal(keys[1], (3, 3, 64, 64)) * 0.05,
              "t2": jax.random.normal(keys[2], (3, 3, 32, 64)) * 0.05,
              "t3": jax.random.normal(keys[3], (3, 3, 1, 32)) * 0.05}
    return (params, jax.random.normal(keys[4], (steps, 128, 2)),
            jax.random.uniform(keys[5], (steps, 128, 28, 28, 1)))


def profile_split(epoch, args, steps):
    """ms per step in GEMMs, copies and other fusions, from a profiler trace of one epoch."""
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder):
            jax.block_until_ready(epoch(*args))
        trace = sorted(glob.glob(folder + "/**/*.trace.json.gz", recursive=True))[-1]
        events = json.load(gzip.open(trace))["traceEvents"]
    split = collections.Counter()
    for event in events:
        name = event.get("name", "")
        # Only XLA's operations: not the executor, the loop, nor the Python frames ($...).
        if event.get("ph") != "X" or name.startswith(("ThunkExecutor", "$", "while",
                                                      "Slinky")):
            continue
        kind = ("GEMM" if any(w in name for w in ("ynn", "dot", "conv")) else
                "copy" if "copy" in name or "transpose" in name else "other")
        split[kind] += event.get("dur", 0) / 1e3 / steps
    return split


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    data = inputs(args.steps)
    epochs = {name: decoder_epoch(form) for name, form in FORMS.items()}
    temp = {}
    for name, epoch in epochs.items():
        compiled = epoch.lower(*data).compile()
        temp[name] = compiled.memory_analysis().temp_size_in_bytes / 2**20
        jax.block_until_ready(epoch(*data))
    samples = {name: [] for name in epochs}
    for _ in range(args.rounds):
        for name, epoch in epochs.items():
            start = time.process_time()
            jax.block_until_ready(epoch(*data))
            samples[name].append((time.process_time() - start) / args.steps)
    cpu = {name: statistics.median(values) for name, values in samples.items()}
    load = os.getloadavg()
    print(f"VAE decoder step in a lax.scan ({args.steps} steps), median CPU ms per step over "
          f"{args.rounds} rounds (load average {load[0]:.2f})")
    for name in epochs:
        line = (f"  {name:28s} {cpu[name] * 1e3:8.1f} CPU ms/step  / lamina "
                f"{cpu[name] / cpu['lamina']:5.2f}  XLA temporaries {temp[name]:6.1f} MB")
        if args.profile:
            split = profile_split(epochs[name], data, args.steps)
            line += "  profile ms/step: " + ", ".join(
                f"{kind} {split[kind]:.1f}" for kind in ("GEMM", "copy", "other"))
        print(line)
    for name in epochs:
        if name != "lamina":
            _results.emit("VAE decoder transposed-convolution forms (CPU time)", name,
                          cpu[name] / cpu["lamina"], temp_mb=round(temp[name], 1),
                          lamina_temp_mb=round(temp["lamina"], 1))


if __name__ == "__main__":
    main()
