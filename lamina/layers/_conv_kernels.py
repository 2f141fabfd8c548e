"""Convolution and max-pooling formulations that train fast on XLA's CPU backend.

`fit` runs many training steps inside one `lax.scan`, so the step is the body of an XLA
`while` loop. On CPU, XLA rewrites a convolution into the form its fast kernels (YNNPACK,
Eigen) accept -- input `(batch, *spatial, channels)`, kernel `(*spatial, in, out)` -- only for
convolutions outside loops. Inside a loop body the two convolutions that JAX's autodiff
derives for the backward pass stay as they are: the input gradient (kernel read as
`(*spatial, out, in)`) and the kernel gradient (batch and channels exchanged, a window as
large as the output) are then emitted as naive element loops, 10-30x slower than a GEMM. The
gradient of `lax.reduce_window` max is `select_and_scatter`, which CPU XLA lowers to an
argmax plus a serial scatter. On the benchmark CNN these made a training step about 15x
slower than the same step written with matrix products (benchmarks/README.md, "CNN").

So on CPU the layers call the functions here. Called plainly (inference), they are exactly
`lax.conv_general_dilated` / `lax.reduce_window`, the XLA kernels Keras's JAX backend uses.
Under differentiation they give JAX a derivative whose transpose is fast:

* `conv`: a `jax.custom_jvp` with tangent `conv(dx, w) + patches(x) @ dw`, where `patches(x)`
  is im2col: the `prod(kernel_size)` shifted views of the input side by side. Small patches
  (up to `KEEP_PATCH_BYTES`) are built once in the forward pass and kept: the value is then
  one GEMM, `patches(x) @ w` (it differs from the convolution by float rounding only), and
  the kernel gradient another, `patches(x).T @ g`. Larger ones are never built whole: the
  value is XLA's own convolution (canonical layout, fast inside loops too), and the kernel
  term is a `lax.scan` over the kernel's taps, each adding `view_t(x) @ dw[t]` with the view
  rematerialized (`jax.checkpoint`). Reverse mode then keeps only the padded input, and the
  backward pass builds one view at a time inside the loop, right before its GEMM
  `view_t(x).T @ g`. (Rematerializing whole patches outside a loop does not work: XLA's CPU
  scheduler computes everything that depends only on forward values as early as it can, and
  drops `optimization_barrier`s before scheduling, so every layer's patches were alive at
  once: 9x each input, 860 MB of temporaries for the ResNet benchmark's step.) The
  input term is a convolution with the kernel's last two axes swapped and read as
  `(out, in)`; its transpose, the input gradient, is then a convolution in the canonical
  layout, which XLA sends to its fast kernel inside loops too. Strided or dilated
  convolutions use `patches(dx) @ w` for the input term instead (its transpose is a GEMM
  followed by strided pads and adds), as their input gradient is not canonical.
* `max_pool`: for non-overlapping windows (`pool_size == strides`, the usual case) a reshape
  and `max`, with a `custom_jvp` that sends each window's tangent to its first maximum, as
  `select_and_scatter` (and TensorFlow) do; the backward pass is then one elementwise select.

Both are `custom_jvp` rules, so forward-mode, reverse-mode and higher derivatives all work.
On other backends (GPU, TPU) the plain `lax` operations are used: their convolution kernels
handle every layout, and the rewrite would only add memory traffic.
"""

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_derivatives import SymbolicZero

# Patches up to this size are built in the forward pass and kept for the backward pass (the
# value and the kernel gradient are then one GEMM each: on the benchmark CNN, whose two
# convolutions' patches are 1.5 and 8.9 MB, about 1.3x faster than rebuilding them); larger ones
# are rebuilt tap by tap in the backward pass (see the module docstring), so that reverse
# mode keeps the input only.
KEEP_PATCH_BYTES = 16 * 2**20

# A strided or dilated convolution's input gradient goes through a patch-sized temporary
# (`g @ w.T`, `prod(kernel_size)` times the input); past this size the plain convolution
# (slower gradients on CPU, no extra memory) is used instead.
MAX_PATCH_BYTES = 256 * 2**20


def _rewrite_for_cpu():
    return jax.default_backend() == "cpu"


# ----------------------------------------------------------------------------- convolution
class ConvSpec(NamedTuple):
    """The static arguments of one convolution (hashable: a `custom_jvp` static argument)."""

    strides: tuple
    padding: tuple  # one (before, after) pair per spatial axis
    dilation: tuple
    channels_first: bool
    groups: int


def _dimension_numbers(rank, channels_first, kernel):
    spatial = "DHW"[3 - rank:] if rank <= 3 else None
    if spatial is None:
        raise ValueError(f"Convolutions have 1 to 3 spatial axes. Received rank {rank}.")
    layout = f"NC{spatial}" if channels_first else f"N{spatial}C"
    return (layout, spatial + kernel, layout)


def _lax_conv(spec, x, w, kernel="IO"):
    return lax.conv_general_dilated(
        x, w, window_strides=spec.strides, padding=spec.padding, rhs_dilation=spec.dilation,
        dimension_numbers=_dimension_numbers(x.ndim - 2, spec.channels_first, kernel),
        feature_group_count=spec.groups)


def explicit_padding(spatial_shape, kernel_size, strides, dilation, padding):
    """`padding` ("VALID", "SAME" or (before, after) pairs) as a tuple of int pairs."""
    if isinstance(padding, str):
        dilated = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation)]
        padding = lax.padtype_to_pads(spatial_shape, dilated, strides, padding)
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def conv(x, w, strides, padding, dilation, channels_first, groups=1):
    """`lax.conv_general_dilated` with Keras's layouts: `x` is `(batch, *spatial, channels)`
    (channels first if `channels_first`), `w` is `(*kernel_size, channels // groups, out)`.

    The values are those of `lax.conv_general_dilated`; on CPU, gradients are formulated as
    canonical convolutions and GEMMs (see the module docstring).
    """
    rank = x.ndim - 2
    spatial_shape = x.shape[2:] if channels_first else x.shape[1:-1]
    spec = ConvSpec(tuple(strides), explicit_padding(
        spatial_shape, w.shape[:rank], strides, dilation, padding), tuple(dilation),
        bool(channels_first), int(groups))
    # A symbolic size (jax.export with a free batch size) cannot be compared with the patch
    # budget; XLA's own convolution takes any size.
    symbolic = not all(isinstance(size, int) for size in x.shape)
    if symbolic or not _rewrite_for_cpu() or _patch_bytes(spec, x, w) > MAX_PATCH_BYTES:
        return _lax_conv(spec, x, w)
    if spec.channels_first:
        # XLA's fast CPU kernels take channels last: two transposes cost far less than the
        # element loops a channels-first convolution's gradient gets inside a loop.
        y = _cpu_conv(spec._replace(channels_first=False), jnp.moveaxis(x, 1, -1), w)
        return jnp.moveaxis(y, -1, 1)
    return _cpu_conv(spec, x, w)


def _output_sizes(spec, spatial_shape, kernel_size):
    return tuple((n + lo + hi - (k - 1) * d - 1) // s + 1 for n, k, s, d, (lo, hi) in zip(
        spatial_shape, kernel_size, spec.strides, spec.dilation, spec.padding))


def _patch_bytes(spec, x, w):
    rank = x.ndim - 2
    spatial_shape = x.shape[2:] if spec.channels_first else x.shape[1:-1]
    outputs = _output_sizes(spec, spatial_shape, w.shape[:rank])
    return (x.shape[0] * math.prod(outputs) * math.prod(w.shape[:rank]) * w.shape[-2]
            * spec.groups * x.dtype.itemsize)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _patches(spec, x, kernel_size):
    """im2col of a channels-last `x`: `(batch, *out, taps, channels)`, taps in row-major order
    of the kernel, so that `patches @ w.reshape(taps * channels, out)` is the convolution.

    Compiled as its own (inlined) function so that a traced step shows it as one equation.
    """
    rank = x.ndim - 2
    x = lax.pad(x, jnp.zeros((), x.dtype),
                [(0, 0, 0), *[(lo, hi, 0) for lo, hi in spec.padding], (0, 0, 0)])
    outputs = _output_sizes(spec._replace(padding=((0, 0),) * rank), x.shape[1:-1],
                            kernel_size)
    views = []
    for tap in itertools.product(*map(range, kernel_size)):
        start = [t * d for t, d in zip(tap, spec.dilation)]
        limit = [b + (o - 1) * s + 1 for b, o, s in zip(start, outputs, spec.strides)]
        views.append(lax.slice(x, (0, *start, 0), (x.shape[0], *limit, x.shape[-1]),
                               (1, *spec.strides, 1)))
    return jnp.stack(views, axis=-2)


def _columns_times_kernel(spec, cols, w):
    """The convolution whose patches are `cols`, as one matrix product with `w`: a batched
    one per group when `groups > 1`, and a multiply-and-sum over the taps for a depthwise
    convolution (one input channel per group), which is no matrix product at all."""
    taps, (cin, cout) = math.prod(w.shape[:-2]), w.shape[-2:]
    g = spec.groups
    if g == 1:
        flat = cols.reshape(-1, taps * cin)
        return jnp.dot(flat, w.reshape(taps * cin, cout)).reshape(cols.shape[:-2] + (cout,))
    if cin == 1:
        out = jnp.sum(cols[..., None] * w.reshape(taps, g, cout // g), axis=-3)
    else:
        cols = cols.reshape(cols.shape[:-1] + (g, cin))
        out = jnp.einsum("...tgc,tcgo->...go", cols, w.reshape(taps, cin, g, cout // g))
    return out.reshape(out.shape[:-2] + (cout,))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _cpu_conv(spec, x, w):
    """A channels-last convolution with the derivative described in the module docstring."""
    return _lax_conv(spec, x, w)


def _cpu_conv_jvp(spec, primals, tangents):
    x, w = primals
    dx, dw = tangents
    terms = []
    if isinstance(dw, SymbolicZero):
        y = _lax_conv(spec, x, w)
    elif _patch_bytes(spec, x, w) <= KEEP_PATCH_BYTES:
        # Small patches: built once and kept, they make the value and the kernel gradient
        # one GEMM each, the fastest form for small layers.
        cols = _patches(spec, x, w.shape[:-2])
        y = _columns_times_kernel(spec, cols, w)
        terms.append(_columns_times_kernel(spec, cols, dw))
    else:
        # XLA's own convolution in the canonical layout is fast inside loops too.
        y = _lax_conv(spec, x, w)
        terms.append(_kernel_term(spec, x, dw))
    if not isinstance(dx, SymbolicZero):
        if all(s == 1 for s in spec.strides) and all(d == 1 for d in spec.dilation):
            # The same convolution with the kernel's last two axes swapped and read as
            # (out, in): its transpose reads the kernel as (in, out), the canonical layout.
            terms.append(_lax_conv(spec, dx, jnp.swapaxes(w, -1, -2), kernel="OI"))
        else:
            terms.append(_columns_times_kernel(spec, _patches(spec, dx, w.shape[:-2]), w))
    if not terms:  # not reached: JAX calls the rule only when something is differentiated
        return y, jnp.zeros_like(y)
    return y, functools.reduce(jnp.add, terms)


def _kernel_term(spec, x, dw):
    """`patches(x) @ dw` as a loop over the kernel's taps: tap `t` adds `view_t(x) @ dw[t]`.

    Each view is built inside the loop body (rematerialized: reverse mode keeps `x` only), so
    the backward pass holds one tap's view at a time, next to its GEMM `view_t(x).T @ g`.
    """
    rank = x.ndim - 2
    kernel_size = dw.shape[:rank]
    padded = lax.pad(x, jnp.zeros((), x.dtype),
                     [(0, 0, 0), *[(lo, hi, 0) for lo, hi in spec.padding], (0, 0, 0)])
    outputs = _output_sizes(spec._replace(padding=((0, 0),) * rank), padded.shape[1:-1],
                            kernel_size)
    starts = np.array([[t * d for t, d in zip(tap, spec.dilation)]
                       for tap in itertools.product(*map(range, kernel_size))], np.int32)
    sizes = [(o - 1) * s + 1 for o, s in zip(outputs, spec.strides)]
    one_tap = (1,) * rank + dw.shape[-2:]

    def tap_term(padded, start, w_tap):
        view = lax.dynamic_slice(padded, (0, *start, 0),
                                 (padded.shape[0], *sizes, padded.shape[-1]))
        if any(s != 1 for s in spec.strides):
            view = view[(slice(None), *[slice(None, None, s) for s in spec.strides])]
        return _columns_times_kernel(spec, view[..., None, :], w_tap.reshape(one_tap))

    tap_term = jax.checkpoint(tap_term, policy=jax.checkpoint_policies.nothing_saveable)

    def body(total, tap):
        start, w_tap = tap
        return total + tap_term(padded, start, w_tap), None

    total = jnp.zeros((x.shape[0], *outputs, dw.shape[-1]), jnp.result_type(x, dw))
    taps = dw.reshape((-1,) + dw.shape[-2:])
    return lax.scan(body, total, (starts, taps))[0]


_cpu_conv.defjvp(_cpu_conv_jvp, symbolic_zeros=True)


# ----------------------------------------------------------------------------- max pooling
def max_pool(x, pool_size, strides, padding, channels_first):
    """Max pooling over the spatial axes of `x`, `lax.reduce_window`'s values and gradient
    (each window's gradient goes to its first maximum); fast on CPU when windows do not
    overlap (see the module docstring)."""
    pool_size, strides, padding = tuple(pool_size), tuple(strides), padding.upper()
    if _rewrite_for_cpu() and pool_size == strides and jnp.issubdtype(x.dtype, jnp.floating):
        return _tiled_max(pool_size, padding, bool(channels_first), x)
    return _window_max(pool_size, strides, padding, bool(channels_first), x)


def _window_max(pool_size, strides, padding, channels_first, x):
    window = (1, 1, *pool_size) if channels_first else (1, *pool_size, 1)
    steps = (1, 1, *strides) if channels_first else (1, *strides, 1)
    return lax.reduce_window(x, _lowest(x.dtype), lax.max, window, steps, padding)


def _lowest(dtype):
    """The identity of max for `dtype`, as a concrete scalar (so that `lax.reduce_window`
    picks its differentiable max reduction)."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return np.array(-np.inf, dtype)
    if jnp.issubdtype(dtype, jnp.bool_):
        return np.array(False)
    return np.array(jnp.iinfo(dtype).min, dtype)


def _tiles(pool_size, padding, channels_first, x):
    """`x` cropped ("VALID") or padded with -inf ("SAME", TensorFlow's split) to whole windows,
    and reshaped so that each spatial axis `n` becomes `(n // k, k)`."""
    first = 2 if channels_first else 1
    pads = [(0, 0)] * x.ndim
    for axis, k in enumerate(pool_size, start=first):
        n = x.shape[axis]
        if padding == "VALID":
            pads[axis] = (0, n // k * k - n)
        else:
            total = -(-n // k) * k - n
            pads[axis] = (total // 2, total - total // 2)
    x = lax.pad(x, _lowest(x.dtype), [(lo, hi, 0) for lo, hi in pads])
    shape = list(x.shape[:first])
    for axis, k in enumerate(pool_size, start=first):
        shape += [x.shape[axis] // k, k]
    return x.reshape(shape + list(x.shape[first + len(pool_size):])), pads


def _window_axes(pool_size, channels_first):
    first = 2 if channels_first else 1
    return tuple(first + 2 * i + 1 for i in range(len(pool_size)))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _tiled_max(pool_size, padding, channels_first, x):
    # Not differentiated (predict, evaluate): XLA's windowed max. The same values, with
    # about 2.5x less CPU time than the max over tiles on the benchmark CNN's pools (the tiles
    # serve the gradient, in the rule below).
    return _window_max(pool_size, pool_size, padding, channels_first, x)


@_tiled_max.defjvp
def _tiled_max_jvp(pool_size, padding, channels_first, primals, tangents):
    (x,), (dx,) = primals, tangents
    axes = _window_axes(pool_size, channels_first)
    tiles, pads = _tiles(pool_size, padding, channels_first, x)
    y = jnp.max(tiles, axis=axes)
    winner = jnp.expand_dims(_first_maximum(tiles, y, pool_size, axes), axes)
    dx = lax.pad(dx, jnp.zeros((), dx.dtype), [(lo, hi, 0) for lo, hi in pads])
    dx = dx.reshape(tiles.shape)
    taps = _tap_numbers(pool_size, axes, tiles.ndim)
    return y, jnp.sum(jnp.where(taps == winner, dx, jnp.zeros((), dx.dtype)), axis=axes)


def _tap_numbers(pool_size, axes, ndim):
    """Each window position's row-major number, shaped to broadcast against the tiles."""
    shape = [1] * ndim
    for axis, k in zip(axes, pool_size):
        shape[axis] = k
    return np.arange(math.prod(pool_size), dtype=np.int32).reshape(shape)


def _first_maximum(tiles, peaks, pool_size, axes):
    """The row-major number of each window's first maximum (where `select_and_scatter` with
    `>=` puts the gradient), shaped like `peaks`. Kept from the forward pass, it makes the
    backward pass one compare-and-select over the tiles, with nothing to assemble."""
    winner = None
    for number, tap in reversed(list(enumerate(itertools.product(*map(range, pool_size))))):
        index = [slice(None)] * tiles.ndim
        for axis, t in zip(axes, tap):
            index[axis] = t
        if winner is None:
            winner = jnp.full(peaks.shape, number, jnp.int32)
        else:
            winner = jnp.where(tiles[tuple(index)] == peaks, number, winner)
    return winner
