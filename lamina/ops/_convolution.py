"""Convolutions over `jax.lax.conv_general_dilated`, in Keras's layouts.

Inputs are `(batch, *spatial, channels)` (`"channels_last"`, the default) or
`(batch, channels, *spatial)`; kernels are `(*spatial, in_channels, out_channels)` for `conv`,
`(*spatial, in_channels, multiplier)` for `depthwise_conv` and
`(*spatial, out_channels, in_channels)` for `conv_transpose`. Padding "same" pads as TensorFlow
does (the extra row or column goes at the end).
"""

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina.ops._convert import compiled, tensor
from lamina.ops._convert import data_format as _data_format
from lamina.ops._symbolic import symbolic_op

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _dimension_numbers(num_spatial, data_format):
    spatial = _SPATIAL[num_spatial]
    layout = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return (layout, f"{spatial}IO", layout)


def _tuple(value, num_spatial, name):
    if isinstance(value, int):
        return (value,) * num_spatial
    value = tuple(int(v) for v in value)
    if len(value) != num_spatial:
        raise ValueError(
            f"{name} must be an int or a tuple of {num_spatial} ints (one per spatial axis). "
            f"Received: {name}={value}")
    return value


def _padding(padding):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(
            f"padding must be 'valid' or 'same'. Received: padding={padding!r}. For causal "
            "1D convolution, pad the input on the left yourself with ops.pad.")
    return padding.upper()


def _channels(x, data_format):
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


def _operands(op, inputs, kernel, data_format, kernel_description):
    """Converts and checks inputs and kernel; returns them with a common float dtype."""
    inputs, kernel = tensor(inputs), tensor(kernel)
    if inputs.ndim not in (3, 4, 5):
        raise ValueError(
            f"ops.{op} takes inputs of rank 3, 4 or 5 (batch, 1 to 3 spatial axes, channels). "
            f"Received: inputs of shape {inputs.shape}. Add a batch axis with "
            "ops.expand_dims(x, 0) if you have a single example.")
    if kernel.ndim != inputs.ndim:
        raise ValueError(
            f"ops.{op} needs a kernel of the same rank as the inputs ({inputs.ndim}): "
            f"{kernel_description}. Received: inputs of shape {inputs.shape} "
            f"({data_format}), kernel of shape {kernel.shape}.")
    dtype = jnp.result_type(kernel)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(inputs, kernel)
        if not jnp.issubdtype(dtype, jnp.inexact):
            dtype = config.floatx()
    return inputs.astype(dtype), kernel.astype(dtype)


def _check_not_empty(op, result, inputs):
    if result.size == 0 and inputs.size != 0:
        raise ValueError(
            f"ops.{op} gave an empty output for inputs of shape {inputs.shape}: the input is "
            "smaller than the (dilated) kernel. Use padding='same', a smaller kernel, stride "
            "or dilation, or a larger input.")
    return result


@symbolic_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1D to 3D); grouped when `in_channels` is a divisor of the input's.

    Examples:
        >>> ops.conv(ops.ones((1, 5, 1)), ops.ones((3, 1, 2))).shape
        (1, 3, 2)
    """
    data_format = _data_format(data_format)
    inputs, kernel = _operands(
        "conv", inputs, kernel, data_format,
        "(*kernel_spatial, in_channels, out_channels)")
    num_spatial = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    kernel_channels, filters = kernel.shape[-2], kernel.shape[-1]
    if kernel_channels == 0 or channels % kernel_channels:
        raise ValueError(
            f"ops.conv: the inputs have {channels} channels but the kernel expects "
            f"{kernel_channels} input channels (kernel shape {kernel.shape}, axis -2). They "
            "must be equal, or the input channels a multiple of the kernel's for a grouped "
            f"convolution. Check data_format (now {data_format!r}) and the kernel layout "
            "(*kernel_spatial, in_channels, out_channels).")
    groups = channels // kernel_channels
    if filters % groups:
        raise ValueError(
            f"ops.conv: a grouped convolution with {groups} groups needs out_channels "
            f"divisible by {groups}. Received: kernel of shape {kernel.shape}.")
    result = jax.lax.conv_general_dilated(
        inputs, kernel,
        window_strides=_tuple(strides, num_spatial, "strides"),
        padding=_padding(padding),
        rhs_dilation=_tuple(dilation_rate, num_spatial, "dilation_rate"),
        dimension_numbers=_dimension_numbers(num_spatial, data_format),
        feature_group_count=groups)
    return _check_not_empty("conv", result, inputs)


@symbolic_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own
    `depth_multiplier` filters.

    Examples:
        >>> ops.depthwise_conv(ops.ones((1, 5, 2)), ops.ones((3, 2, 2))).shape
        (1, 3, 4)
    """
    data_format = _data_format(data_format)
    inputs, kernel = _operands(
        "depthwise_conv", inputs, kernel, data_format,
        "(*kernel_spatial, in_channels, depth_multiplier)")
    num_spatial = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    if kernel.shape[-2] != channels:
        raise ValueError(
            f"ops.depthwise_conv: the inputs have {channels} channels but the kernel has "
            f"{kernel.shape[-2]} (kernel shape {kernel.shape}, axis -2). They must be equal. "
            f"Check data_format (now {data_format!r}).")
    kernel = jnp.reshape(kernel, kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    result = jax.lax.conv_general_dilated(
        inputs, kernel,
        window_strides=_tuple(strides, num_spatial, "strides"),
        padding=_padding(padding),
        rhs_dilation=_tuple(dilation_rate, num_spatial, "dilation_rate"),
        dimension_numbers=_dimension_numbers(num_spatial, data_format),
        feature_group_count=channels)
    return _check_not_empty("depthwise_conv", result, inputs)


@symbolic_op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """Depthwise convolution followed by a 1x1 (pointwise) convolution.

    Examples:
        >>> ops.separable_conv(ops.ones((1, 5, 2)), ops.ones((3, 2, 2)), ops.ones((1, 4, 3))).shape
        (1, 3, 3)
    """
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, strides=1, padding="valid",
                data_format=data_format, dilation_rate=dilation_rate)


def _transpose_padding(kernel_size, stride, dilation, padding, output_padding):
    """Low and high padding for `lax.conv_transpose` that give Keras's output sizes.

    "valid" makes the output `(in - 1) * stride + max(kernel, stride)` long; "same" makes it
    `in * stride`. An explicit `output_padding` adds that many samples at the end.
    """
    span = (kernel_size - 1) * dilation + 1
    if padding == "VALID":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    if output_padding is None:
        total = stride + span - 2
    else:
        total = span + span % 2 - 2 + output_padding
    low = min((total + 1) // 2, span - 1)
    return low, total - low


@symbolic_op
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of `conv`), for upsampling.

    Examples:
        >>> ops.conv_transpose(ops.ones((1, 3, 1)), ops.ones((2, 4, 1)), strides=2).shape
        (1, 6, 4)
    """
    data_format = _data_format(data_format)
    inputs, kernel = _operands(
        "conv_transpose", inputs, kernel, data_format,
        "(*kernel_spatial, out_channels, in_channels)")
    num_spatial = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    if kernel.shape[-1] != channels:
        raise ValueError(
            f"ops.conv_transpose: the inputs have {channels} channels but the kernel expects "
            f"{kernel.shape[-1]} (kernel shape {kernel.shape}, axis -1; the layout is "
            f"(*kernel_spatial, out_channels, in_channels)). Check data_format (now "
            f"{data_format!r}).")
    strides = _tuple(strides, num_spatial, "strides")
    dilation = _tuple(dilation_rate, num_spatial, "dilation_rate")
    output_padding = (None,) * num_spatial if output_padding is None else _tuple(
        output_padding, num_spatial, "output_padding")
    pad_mode = _padding(padding)
    pads = [_transpose_padding(k, s, d, pad_mode, p) for k, s, d, p in
            zip(kernel.shape[:num_spatial], strides, dilation, output_padding)]
    return transposed_convolution(inputs, kernel, strides, pads, dilation,
                                  data_format == "channels_first")


# The CPU formulations keep an intermediate from the forward to the backward pass (the
# scatter form's `inputs @ kernel`, the phase form's input neighbourhoods); past this size
# the plain convolution (no extra memory, slow gradients inside loops) is used.
_MAX_COLUMN_BYTES = 256 * 2**20


def transposed_convolution(inputs, kernel, strides, padding, dilation, channels_first):
    """Keras's transposed convolution for explicit `padding` ((before, after) of the
    stride-dilated input, per spatial axis); `kernel` is `(*kernel_size, out, in)`.

    The values are `lax.conv_transpose(..., transpose_kernel=True)`'s, which Keras's JAX
    backend calls. On CPU the computation is reformulated: `fit` runs its steps inside an XLA
    loop, where XLA's CPU backend does not rewrite the convolutions that autodiff derives from
    a transposed convolution (an input-dilated convolution, its strided gradient and a kernel
    gradient with a window as large as the output) into its fast GEMM kernels; they run as
    naive element loops, several times slower (benchmarks/README.md, "VAE decoder"). Two
    formulations made of GEMMs, slices and pads, whose derivatives are fast anywhere, replace
    it; their results differ from the convolution's by float rounding only:

    * the phase (sub-pixel) form, `_phase_transposed`: output position `o = q * stride + p`
      only receives the taps congruent to its phase `p`, from a small neighbourhood of input
      `q`. One GEMM multiplies each input neighbourhood by the sub-kernels of all phases,
      stacked along the output channels (zero where a phase lacks a tap), and one
      depth-to-space transpose interleaves the phases: no overlapping adds. It keeps
      `window * in` numbers per input position (window: the neighbourhood's size, 2x2 for a
      3x3 kernel with strides 2);
    * the scatter form, `_scatter_transposed`: every input position times the whole kernel as
      one GEMM, `(positions, in) x (in, taps * out)`, then each tap's product added at its
      strided place (`lax.pad` with interior padding). It keeps `taps * out` numbers per input
      position, the fewer when `out` is small (an image decoder's last layer).

    The one with the smaller intermediate is used. Other backends keep `lax.conv_transpose`.
    """
    strides, dilation = tuple(strides), tuple(dilation)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    static = all(isinstance(n, int) for n in inputs.shape)
    if not static or jax.default_backend() != "cpu":
        return _lax_transposed(inputs, kernel, strides, padding, dilation, channels_first)
    rank = inputs.ndim - 2
    spatial_shape = inputs.shape[2:] if channels_first else inputs.shape[1:-1]
    geometry = tuple(_phase_geometry(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi) in zip(
        spatial_shape, kernel.shape[:rank], strides, dilation, padding))
    (filters, channels), taps = kernel.shape[rank:], math.prod(kernel.shape[:rank])
    window = math.prod(g.window for g in geometry)
    phase = window * channels <= taps * filters
    kept = min(window * channels, taps * filters)
    if kept * (inputs.size // channels) * inputs.dtype.itemsize > _MAX_COLUMN_BYTES:
        return _lax_transposed(inputs, kernel, strides, padding, dilation, channels_first)
    if channels_first:
        inputs = jnp.moveaxis(inputs, 1, -1)
    if phase:
        outputs = _phase_transposed(inputs, kernel, strides, geometry)
    else:
        outputs = _scatter_transposed(inputs, kernel, strides, padding, dilation)
    return jnp.moveaxis(outputs, -1, 1) if channels_first else outputs


def _lax_transposed(inputs, kernel, strides, padding, dilation, channels_first):
    rank = inputs.ndim - 2
    return jax.lax.conv_transpose(
        inputs, kernel, strides, padding=padding, rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(
            rank, "channels_first" if channels_first else "channels_last"),
        transpose_kernel=True)


class _PhaseAxis(NamedTuple):
    """One spatial axis of the phase form (hashable: a static argument).

    Tap `t` of input `i` lands on output `i * stride + t * dilation + shift`
    (`lax.conv_transpose` flips the kernel and convolves the stride-dilated input padded by
    (before, after), so `shift = before - (span - 1)`): on phase `(t * dilation + shift) %
    stride` of output block `q = i + (t * dilation + shift) // stride`. Block `q` thus reads
    inputs `q - top .. q - top + window - 1`, where `top` is the largest such offset.
    """

    length: int     # the output's length
    blocks: int     # output blocks of `stride` positions, the last one possibly cropped
    window: int     # input positions each block reads
    pad: tuple      # (before, after) padding of the input so that block q reads [q, q + window)
    places: tuple   # per tap: (phase, index in the window)


def _phase_geometry(n, kernel_size, stride, dilation, before, after):
    span = (kernel_size - 1) * dilation + 1
    shift = before - (span - 1)
    length = (n - 1) * stride + 1 + before + after - span + 1
    offsets = [(t * dilation + shift) // stride for t in range(kernel_size)]
    top, window = max(offsets), max(offsets) - min(offsets) + 1
    blocks = -(-length // stride)
    places = tuple(((t * dilation + shift) % stride, top - offset)
                   for t, offset in enumerate(offsets))
    return _PhaseAxis(length, blocks, window, (top, blocks + window - 1 - n - top), places)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _phase_transposed(inputs, kernel, strides, geometry):
    """The phase form of `transposed_convolution` (see there), channels last; compiled as its
    own (inlined) function, so that a traced step shows it as one equation."""
    rank = inputs.ndim - 2
    kernel_size, (filters, channels) = kernel.shape[:rank], kernel.shape[rank:]
    windows, blocks = [g.window for g in geometry], [g.blocks for g in geometry]
    x = jax.lax.pad(inputs, jnp.zeros((), inputs.dtype),
                    [(0, 0, 0), *[(*g.pad, 0) for g in geometry], (0, 0, 0)])
    views = [jax.lax.slice(x, (0, *start, 0),
                           (x.shape[0], *[a + b for a, b in zip(start, blocks)], channels))
             for start in itertools.product(*map(range, windows))]
    neighbourhoods = jnp.stack(views, axis=-2)  # (batch, *blocks, window, in)
    # The sub-kernels side by side: (window, in) x (phases, out), a zero where a phase has no
    # tap at a window position (the index past the last tap picks the appended zeros).
    taps, phases, window = math.prod(kernel_size), math.prod(strides), math.prod(windows)
    index = np.full((window, phases), taps, np.int32)
    for number, tap in enumerate(itertools.product(*map(range, kernel_size))):
        phase, place = zip(*[g.places[t] for g, t in zip(geometry, tap)])
        index[np.ravel_multi_index(place, windows), np.ravel_multi_index(phase, strides)] = number
    flat = jnp.concatenate([kernel.reshape(taps, filters, channels),
                            jnp.zeros((1, filters, channels), kernel.dtype)])
    stacked = jnp.transpose(flat[index], (0, 3, 1, 2)).reshape(window * channels,
                                                                phases * filters)
    outputs = jax.lax.dot_general(
        neighbourhoods.reshape(-1, window * channels), stacked, (((1,), (0,)), ((), ())))
    # Depth to space: (batch, *blocks, *strides, out) -> (batch, block, stride, ..., out).
    outputs = outputs.reshape(inputs.shape[0], *blocks, *strides, filters)
    order = [0, *itertools.chain.from_iterable((1 + a, 1 + rank + a) for a in range(rank)),
             1 + 2 * rank]
    outputs = jnp.transpose(outputs, order).reshape(
        inputs.shape[0], *[b * s for b, s in zip(blocks, strides)], filters)
    return outputs[(slice(None), *[slice(0, g.length) for g in geometry])]


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _scatter_transposed(inputs, kernel, strides, padding, dilation):
    """The scatter form of `transposed_convolution` (see there), channels last; compiled as
    its own (inlined) function, so that a traced step shows it as one equation."""
    columns, configs = _scatter_columns(inputs, kernel, strides, padding, dilation)
    zero = jnp.zeros((), columns.dtype)
    # lax.split, not indexing: the derivative then stacks the taps' gradients with one
    # concatenate instead of padding each into a full-size array and adding those.
    pieces = jax.lax.split(columns, (1,) * len(configs), axis=columns.ndim - 2)
    outputs = None
    for config, piece in zip(configs, pieces):
        placed = jax.lax.pad(piece.reshape(piece.shape[:-2] + piece.shape[-1:]), zero,
                             config)
        outputs = placed if outputs is None else outputs + placed
    return outputs


def _scatter_columns(inputs, kernel, strides, padding, dilation):
    """The scatter form's two halves, channels last: every tap's contribution at once,
    `columns` of shape `(batch, *spatial, taps, filters)` (one GEMM), and for each tap the
    `lax.pad` configuration that places its column at its output positions."""
    rank = inputs.ndim - 2
    kernel_size, (filters, channels) = kernel.shape[:rank], kernel.shape[rank:]
    taps = list(itertools.product(*map(range, kernel_size)))
    # (positions, in) x (in, taps * out): the kernel's last axis is contracted as it lies.
    columns = jax.lax.dot_general(
        inputs, kernel.reshape(len(taps) * filters, channels),
        (((inputs.ndim - 1,), (1,)), ((), ())))
    columns = columns.reshape(inputs.shape[:-1] + (len(taps), filters))
    # lax.conv_transpose flips the kernel and convolves the stride-dilated input padded by
    # (before, after): input i, tap t lands on output i * stride + t * dilation + shift.
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation)]
    shifts = [lo - (span - 1) for (lo, _), span in zip(padding, spans)]
    lengths = [(n - 1) * s + 1 + lo + hi - span + 1 for n, s, (lo, hi), span in zip(
        inputs.shape[1:-1], strides, padding, spans)]
    configs = []
    for tap in taps:
        config = [(0, 0, 0)]
        for n, t, s, d, shift, length in zip(inputs.shape[1:-1], tap, strides, dilation,
                                             shifts, lengths):
            low = t * d + shift
            config.append((low, length - low - ((n - 1) * s + 1), s - 1))
        configs.append(config + [(0, 0, 0)])
    return columns, configs


# ------------------------------------------------------------------------------- patches


def _pair(value, name):
    return _tuple(value, 2, name)


@symbolic_op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Extracts sliding blocks from `(N, C, H, W)` images as columns: `(N, C*kH*kW, L)`
    (PyTorch's `unfold`, im2col).

    Examples:
        >>> ops.unfold(ops.ones((1, 2, 3, 3)), 2).shape
        (1, 8, 4)
    """
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(
            "ops.unfold takes images of shape (N, C, H, W) (channels first). Received: "
            f"shape {x.shape}.")
    return _unfold(x, *_patch_geometry(kernel_size, dilation, padding, stride))


def _patch_geometry(kernel_size, dilation, padding, stride):
    return (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"),
            _pair(padding, "padding"), _pair(stride, "stride"))


@compiled("kernel_size", "dilation", "padding", "stride")
def _unfold(x, kernel_size, dilation, padding, stride):
    patches = jax.lax.conv_general_dilated_patches(
        x, kernel_size, stride, [(padding[0], padding[0]), (padding[1], padding[1])],
        rhs_dilation=dilation, dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return patches.reshape(patches.shape[:2] + (-1,))


@symbolic_op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums columns of sliding blocks `(N, C*kH*kW, L)` back into `(N, C, H, W)` images
    (PyTorch's `fold`, col2im; the adjoint of `unfold`).

    Examples:
        >>> ops.fold(ops.ones((1, 4, 4)), (3, 3), 2)[0, 0]
        Array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]], dtype=float32)
    """
    x = tensor(x)
    if x.ndim != 3:
        raise ValueError(
            f"ops.fold takes columns of shape (N, C*kH*kW, L). Received: shape {x.shape}.")
    kernel_h, kernel_w = _pair(kernel_size, "kernel_size")
    if x.shape[1] % (kernel_h * kernel_w):
        raise ValueError(
            f"ops.fold: axis 1 of x ({x.shape[1]}) must be a multiple of kH*kW = "
            f"{kernel_h * kernel_w}.")
    output_size = _pair(output_size, "output_size")
    geometry = _patch_geometry(kernel_size, dilation, padding, stride)
    blocks = 1
    for size, k, d, p, s in zip(output_size, *geometry):
        blocks *= (size + 2 * p - d * (k - 1) - 1) // s + 1
    if x.shape[2] != blocks:
        raise ValueError(
            f"ops.fold: an output of size {output_size} with these kernel_size, dilation, "
            f"padding and stride holds {blocks} blocks, but x has {x.shape[2]} (axis 2).")
    return _fold(x, output_size, *geometry)


@compiled("output_size", "kernel_size", "dilation", "padding", "stride")
def _fold(x, output_size, kernel_size, dilation, padding, stride):
    channels = x.shape[1] // (kernel_size[0] * kernel_size[1])
    image = jax.ShapeDtypeStruct((x.shape[0], channels, *output_size), x.dtype)

    def to_columns(images):
        return _unfold(images, kernel_size, dilation, padding, stride)

    # fold is the linear transpose of unfold; let JAX derive it.
    (result,) = jax.linear_transpose(to_columns, image)(x)
    return result


def _blocks(x, block_size, data_format, op):
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(
            f"ops.{op} takes 4D images. Received: shape {x.shape}.")
    if not isinstance(block_size, int) or block_size < 2:
        raise ValueError(
            f"ops.{op} takes an int block_size of 2 or more. Received: "
            f"block_size={block_size!r}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"ops.{op} takes data_format 'channels_last' or 'channels_first'. Received: "
            f"data_format={data_format!r}")
    return x


@symbolic_op
def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves channel blocks into `block_size` x `block_size` spatial tiles (pixel shuffle).

    Examples:
        >>> ops.depth_to_space(ops.ones((1, 2, 2, 8)), 2).shape
        (1, 4, 4, 2)
    """
    x = _blocks(x, block_size, data_format, "depth_to_space")
    channels = x.shape[-1] if data_format == "channels_last" else x.shape[1]
    if channels % (block_size * block_size):
        raise ValueError(
            f"ops.depth_to_space: channels ({channels}) must be divisible by block_size**2 "
            f"({block_size * block_size}).")
    return _depth_to_space(x, block_size, data_format)


@compiled("b", "data_format")
def _depth_to_space(x, b, data_format):
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // (b * b))
    n, c, h, w = x.shape
    x = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // (b * b), h * b, w * b)


@symbolic_op
def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves `block_size` x `block_size` spatial tiles into channels (the inverse of
    `depth_to_space`).

    Examples:
        >>> ops.space_to_depth(ops.ones((1, 4, 4, 2)), 2).shape
        (1, 2, 2, 8)
    """
    x = _blocks(x, block_size, data_format, "space_to_depth")
    spatial = x.shape[1:3] if data_format == "channels_last" else x.shape[2:]
    if spatial[0] % block_size or spatial[1] % block_size:
        raise ValueError(
            f"ops.space_to_depth: the height and width {tuple(spatial)} must be divisible by "
            f"block_size={block_size}.")
    return _space_to_depth(x, block_size, data_format)


@compiled("b", "data_format")
def _space_to_depth(x, b, data_format):
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b * b, h // b, w // b)
