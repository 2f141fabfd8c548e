"""Convolution layers: Conv1D/2D/3D and their transposes, Conv1D/2D/3DTranspose.

Each layer is one `jax.lax` convolution (plus a bias add and an activation), so forward and
backward passes compile to a single XLA program. On CPU, `Conv1D/2D/3D` give that convolution
a derivative made of canonical convolutions and GEMMs, which XLA runs fast inside `fit`'s
loop (`_conv_kernels.py` says why). Inputs keep Keras's layouts and are handed to
XLA through dimension numbers: `(batch, *spatial, channels)` by default, or
`(batch, channels, *spatial)` with `data_format="channels_first"`. Kernels are stored in
Keras 3's shapes and order (`kernel`, then `bias`) so that weights exchange with Keras by
position: `(*kernel_size, in_channels // groups, filters)` for a convolution,
`(*kernel_size, filters, in_channels)` for a transposed one. On CPU, a transposed convolution
is one GEMM plus a depth-to-space transpose or strided adds
(`ops._convolution.transposed_convolution` says why).

Depthwise and separable convolutions live in `separable_convolution.py`.
"""

from lamina import activations, constraints, initializers, regularizers
from lamina.layers import _conv_kernels as kernels
from lamina.layers import _spatial_args as spatial
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops._convolution import transposed_convolution


def cast(x, dtype):
    """`x` in `dtype` (a no-op, kept out of the graph, when it already is)."""
    return x if x.dtype == dtype else x.astype(dtype)


def reject_lora(layer_name, kwargs):
    """Keras's BaseConv accepts LoRA arguments through **kwargs; lamina does not implement them."""
    lora = {k: kwargs.pop(k) for k in ("lora_rank", "lora_alpha") if k in kwargs}
    if any(v is not None for v in lora.values()):
        raise NotImplementedError(
            f"{layer_name}: LoRA is not supported by lamina's convolution layers. Remove "
            f"{sorted(k for k, v in lora.items() if v is not None)}.")


def check_strides_and_dilation(strides, dilation_rate, where):
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            f"{where}: `strides` > 1 cannot be combined with `dilation_rate` > 1 (as in "
            f"Keras). Received: strides={strides}, dilation_rate={dilation_rate}. Set one of "
            "them to 1.")


def add_bias_and_activate(layer, outputs, bias):
    """Adds `bias` along the channel axis, then applies the layer's activation."""
    if bias is not None:
        bias = cast(bias, outputs.dtype)
        if layer.data_format == "channels_first":
            bias = bias.reshape((-1,) + (1,) * layer.rank)
        outputs = outputs + bias
    return layer.activation(outputs)


def check_rank(layer, input_shape):
    """A clear error for compute_output_shape called with a shape of the wrong rank."""
    input_shape = tuple(input_shape)
    if len(input_shape) != layer.rank + 2:
        raise ValueError(
            f"{spatial.describe(layer)} expects inputs of rank {layer.rank + 2} (batch, "
            f"{layer.rank} spatial axes, channels). Received: input shape {input_shape}.")
    return input_shape


class _Conv(Layer):
    """The N-D convolution behind Conv1D, Conv2D and Conv3D (`rank` is set by each)."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        reject_lora(type(self).__name__, kwargs)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = spatial.describe(self)
        rank = self.rank
        self.filters = spatial.positive_int(filters, "filters", where)
        self.kernel_size = spatial.int_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = spatial.int_tuple(strides, rank, "strides", where)
        self.padding = spatial.padding_mode(padding, where, allow_causal=rank == 1)
        self.data_format = spatial.data_format(data_format, where)
        self.dilation_rate = spatial.int_tuple(dilation_rate, rank, "dilation_rate", where)
        self.groups = spatial.positive_int(groups, "groups", where)
        if self.filters % self.groups:
            raise ValueError(
                f"{where}: `filters` must be divisible by `groups` (each group makes "
                f"filters // groups outputs). Received: filters={filters}, groups={groups}.")
        check_strides_and_dilation(self.strides, self.dilation_rate, where)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        where = spatial.describe(self)
        channels = spatial.input_channels(input_shape, self.data_format, where)
        if channels % self.groups:
            raise ValueError(
                f"{where}: the number of input channels ({channels}) must be divisible by "
                f"groups={self.groups}. Received: input shape {tuple(input_shape)}. Change "
                "`groups` or the number of channels.")
        self.compute_output_shape(input_shape)  # rejects inputs smaller than the kernel
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(
            ndim=self.rank + 2, axes={spatial.channel_axis(self.data_format): channels})
        self.built = True

    def _lax_padding(self):
        if self.padding == "causal":
            # Pad only on the left, so output step t sees inputs up to t; done inside the
            # convolution rather than by a separate pad of the input.
            return [(self.dilation_rate[0] * (self.kernel_size[0] - 1), 0)]
        return self.padding.upper()

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # no silently empty output for small inputs
        dtype = self.compute_dtype
        # One lax convolution; on CPU its gradient is formulated for XLA's fast kernels
        # (see _conv_kernels).
        outputs = kernels.conv(
            cast(inputs, dtype), cast(self.kernel.value, dtype), self.strides,
            self._lax_padding(), self.dilation_rate,
            channels_first=self.data_format == "channels_first", groups=self.groups)
        return add_bias_and_activate(
            self, outputs, self.bias.value if self.bias is not None else None)

    def compute_output_shape(self, input_shape):
        input_shape = check_rank(self, input_shape)
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(
            spatial.window_output_length(n, k, s, self.padding, d)
            for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate))
        spatial.check_output_positive(
            output, input_shape, spatial.describe(self),
            f"the kernel {self.kernel_size} with dilation_rate {self.dilation_rate}")
        return spatial.with_spatial(input_shape, self.data_format, output, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv1D(_Conv):
    """1D convolution over sequences: `activation(conv1d(inputs, kernel) + bias)`.

    Inputs are `(batch, steps, channels)`, or `(batch, channels, steps)` with
    `data_format="channels_first"`; the kernel is `(kernel_size, channels // groups, filters)`.
    Besides "valid" and "same", `padding="causal"` pads only on the left, so output step `t`
    depends on input steps `<= t` (for autoregressive models). Arguments as for `Conv2D`.

    Examples:
        >>> Conv1D(4, 3, padding="causal")(jnp.ones((2, 10, 3))).shape
        (2, 10, 4)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, groups=groups, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


class Conv2D(_Conv):
    """2D convolution over images: `activation(conv2d(inputs, kernel) + bias)`.

    Inputs are `(batch, height, width, channels)`, or `(batch, channels, height, width)` with
    `data_format="channels_first"`. The kernel is `(kh, kw, channels // groups, filters)`; the
    output has `filters` channels and, per spatial axis, `ceil(n / stride)` positions with
    `padding="same"` (extra padding goes at the end, as in TensorFlow) or
    `floor((n - dilation * (k - 1) - 1) / stride) + 1` with `padding="valid"`.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 2 ints, the window size.
        strides: an int or a tuple of 2 ints (cannot be > 1 together with `dilation_rate`).
        padding: `"valid"` (no padding) or `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; None means
            `keras.config.image_data_format()`.
        dilation_rate: an int or a tuple of 2 ints, the spacing of the kernel taps.
        groups: splits the channels into this many independent convolutions.
        activation: applied to the output (None for none).
        use_bias: whether to add a bias per output channel.
        kernel_*, bias_*, activity_regularizer: the initializers, regularizers and
            constraints, as for `Dense`.

    Examples:
        >>> Conv2D(8, 3, padding="same")(jnp.ones((2, 5, 5, 3))).shape
        (2, 5, 5, 8)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, groups=groups, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


class Conv3D(_Conv):
    """3D convolution over volumes: `activation(conv3d(inputs, kernel) + bias)`.

    Inputs are `(batch, depth, height, width, channels)`, or channels first; the kernel is
    `(kd, kh, kw, channels // groups, filters)`. Arguments as for `Conv2D`, with 3 values per
    tuple.

    Examples:
        >>> Conv3D(2, 3)(jnp.ones((1, 4, 4, 4, 1))).shape
        (1, 2, 2, 2, 2)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, groups=groups, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


def transpose_growth(kernel, stride, dilation, padding, output_padding):
    """How much longer than `(n - 1) * stride` a transposed convolution's output is (Keras 3's
    output length rule, which is TensorFlow's)."""
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        return k + (max(k, stride) - k if output_padding is None else output_padding)
    return stride if output_padding is None else k % 2 + output_padding


def transpose_padding(kernel, stride, dilation, padding, output_padding):
    """The (before, after) padding of the stride-dilated input for `lax.conv_transpose`.

    The full response of each input position spans `k` outputs; the output keeps the window
    that a forward "same" convolution from output to input would read, i.e. it drops the
    padding that forward convolution would put before the data (`crop`).
    """
    k = (kernel - 1) * dilation + 1
    growth = transpose_growth(kernel, stride, dilation, padding, output_padding)
    crop = max(k - growth, 0) // 2
    before = k - 1 - crop
    return (before, growth + k - 2 - before)


class _ConvTranspose(Layer):
    """The N-D transposed convolution behind Conv1D/2D/3DTranspose."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = spatial.describe(self)
        rank = self.rank
        self.filters = spatial.positive_int(filters, "filters", where)
        self.kernel_size = spatial.int_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = spatial.int_tuple(strides, rank, "strides", where)
        self.padding = spatial.padding_mode(padding, where)
        self.output_padding = None if output_padding is None else spatial.int_tuple(
            output_padding, rank, "output_padding", where, allow_zero=True)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(
                f"{where}: each value of `output_padding` must be smaller than the matching "
                f"stride. Received: output_padding={output_padding}, strides={strides}.")
        self.data_format = spatial.data_format(data_format, where)
        self.dilation_rate = spatial.int_tuple(dilation_rate, rank, "dilation_rate", where)
        check_strides_and_dilation(self.strides, self.dilation_rate, where)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _output_paddings(self):
        return self.output_padding or (None,) * self.rank

    def build(self, input_shape):
        channels = spatial.input_channels(input_shape, self.data_format,
                                          spatial.describe(self))
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(
            ndim=self.rank + 2, axes={spatial.channel_axis(self.data_format): channels})
        self.built = True

    def call(self, inputs):
        dtype = self.compute_dtype
        padding = [
            transpose_padding(k, s, d, self.padding, p) for k, s, d, p in zip(
                self.kernel_size, self.strides, self.dilation_rate, self._output_paddings())]
        # lax.conv_transpose's values (Keras's); on CPU computed with GEMMs, slices and pads,
        # whose gradients stay fast inside fit's loop (see transposed_convolution).
        outputs = transposed_convolution(
            cast(inputs, dtype), cast(self.kernel.value, dtype), self.strides, padding,
            self.dilation_rate, self.data_format == "channels_first")
        return add_bias_and_activate(
            self, outputs, self.bias.value if self.bias is not None else None)

    def compute_output_shape(self, input_shape):
        input_shape = check_rank(self, input_shape)
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(
            None if n is None else (n - 1) * s + transpose_growth(k, s, d, self.padding, p)
            for n, k, s, d, p in zip(sizes, self.kernel_size, self.strides,
                                     self.dilation_rate, self._output_paddings()))
        return spatial.with_spatial(input_shape, self.data_format, output, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv1DTranspose(_ConvTranspose):
    """1D transposed convolution (the gradient of `Conv1D` with respect to its input).

    Inputs are `(batch, steps, channels)` (or channels first); the kernel is
    `(kernel_size, filters, channels)`. Arguments as for `Conv2DTranspose`.

    Examples:
        >>> Conv1DTranspose(4, 3, strides=2, padding="same")(jnp.ones((2, 5, 3))).shape
        (2, 10, 4)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """2D transposed convolution, the learnable upsampling of decoders and generators.

    The gradient of a `Conv2D` with respect to its input: each input position adds
    `kernel`-weighted copies of its channels to a `kernel_size` window of the output, windows
    `strides` apart. The kernel is `(kh, kw, filters, channels)`. Output size per spatial axis
    (as Keras 3): `n * stride` with `padding="same"`, `(n - 1) * stride + max(k, stride)` with
    "valid" (`k` is the dilated kernel size); with `output_padding=p` it is
    `(n - 1) * stride + k + p` ("valid") or `(n - 1) * stride + k % 2 + p` ("same").

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as
            for `Conv2D`, and so are the initializers, regularizers and constraints.
        output_padding: None, or an int or a tuple of 2 ints (each smaller than its stride)
            fixing the output size as above.

    Examples:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(jnp.ones((1, 5, 5, 3))).shape
        (1, 10, 10, 4)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """3D transposed convolution; the kernel is `(kd, kh, kw, filters, channels)`.

    Arguments as for `Conv2DTranspose`, with 3 values per tuple (note that, as in Keras 3,
    `data_format` comes before `output_padding` among the positional arguments).

    Examples:
        >>> Conv3DTranspose(2, 2, strides=2)(jnp.ones((1, 2, 2, 2, 3))).shape
        (1, 4, 4, 4, 2)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)


__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
]
