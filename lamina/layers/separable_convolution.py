"""Depthwise and separable convolutions: DepthwiseConv1D/2D and SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own with `depth_multiplier` kernels;
it runs as one grouped `lax` convolution with one group per channel. A separable convolution
is a depthwise convolution followed by a pointwise (1x1) one that mixes channels. Both go
through `_conv_kernels.conv`, whose gradients are fast on CPU inside `fit`'s loop. Weights
follow Keras 3's names, shapes and order: depthwise `kernel` `(*kernel_size, channels,
depth_multiplier)` then `bias`; separable `depthwise_kernel`, `pointwise_kernel`
`(1, ..., channels * depth_multiplier, filters)`, then `bias`.
"""

from lamina import activations, constraints, initializers, regularizers
from lamina.layers import _conv_kernels as kernels
from lamina.layers import _spatial_args as spatial
from lamina.layers.convolution import (
    add_bias_and_activate,
    cast,
    check_rank,
    check_strides_and_dilation,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def _depthwise(layer, inputs, kernel):
    """Channel `c` convolved with `kernel[..., c, m]` lands in output channel `c * M + m`."""
    channels, multiplier = kernel.shape[-2:]
    # (*k, C, M) -> (*k, 1, C * M) is a free reshape; one group per input channel.
    kernel = kernel.reshape(kernel.shape[:-2] + (1, channels * multiplier))
    return kernels.conv(inputs, kernel, layer.strides, layer.padding.upper(), layer.dilation_rate,
                        channels_first=layer.data_format == "channels_first", groups=channels)


def _output_shape(layer, input_shape, channels_out):
    input_shape = check_rank(layer, input_shape)
    sizes = spatial.spatial_dims(input_shape, layer.data_format)
    output = tuple(
        spatial.window_output_length(n, k, s, layer.padding, d)
        for n, k, s, d in zip(sizes, layer.kernel_size, layer.strides, layer.dilation_rate))
    spatial.check_output_positive(
        output, input_shape, spatial.describe(layer),
        f"the kernel {layer.kernel_size} with dilation_rate {layer.dilation_rate}")
    return spatial.with_spatial(input_shape, layer.data_format, output, channels_out)


class _DepthwiseConv(Layer):
    """The N-D depthwise convolution behind DepthwiseConv1D and DepthwiseConv2D."""

    rank = None

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = spatial.describe(self)
        rank = self.rank
        self.depth_multiplier = spatial.positive_int(
            depth_multiplier, "depth_multiplier", where)
        self.kernel_size = spatial.int_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = spatial.int_tuple(strides, rank, "strides", where)
        self.padding = spatial.padding_mode(padding, where)
        self.data_format = spatial.data_format(data_format, where)
        self.dilation_rate = spatial.int_tuple(dilation_rate, rank, "dilation_rate", where)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = spatial.input_channels(input_shape, self.data_format,
                                          spatial.describe(self))
        self.compute_output_shape(input_shape)  # rejects inputs smaller than the kernel
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(channels * self.depth_multiplier,),
                initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(
            ndim=self.rank + 2, axes={spatial.channel_axis(self.data_format): channels})
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # no silently empty output for small inputs
        dtype = self.compute_dtype
        outputs = _depthwise(self, cast(inputs, dtype), cast(self.kernel.value, dtype))
        return add_bias_and_activate(
            self, outputs, self.bias.value if self.bias is not None else None)

    def compute_output_shape(self, input_shape):
        channels = tuple(input_shape)[spatial.channel_axis(self.data_format)]
        return _output_shape(self, input_shape,
                             None if channels is None else channels * self.depth_multiplier)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class DepthwiseConv1D(_DepthwiseConv):
    """1D depthwise convolution: each channel filtered on its own by `depth_multiplier`
    kernels. Arguments as for `DepthwiseConv2D`.

    Examples:
        >>> DepthwiseConv1D(3, depth_multiplier=2)(jnp.ones((2, 8, 3))).shape
        (2, 6, 6)
    """

    rank = 1

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint,
            **kwargs)


class DepthwiseConv2D(_DepthwiseConv):
    """2D depthwise convolution: each input channel is filtered on its own.

    With `C` input channels the kernel is `(kh, kw, C, depth_multiplier)` and the output has
    `C * depth_multiplier` channels, channel `c * depth_multiplier + m` being channel `c`
    filtered by `kernel[..., c, m]`. The bias (one per output channel) is named "bias".

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as
            for `Conv2D` (strides and dilation may both exceed 1 here).
        depth_multiplier: the number of kernels per input channel.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the kernel.
        bias_initializer, bias_regularizer, bias_constraint, activity_regularizer: as for
            `Conv2D`.

    Examples:
        >>> DepthwiseConv2D(3, padding="same", depth_multiplier=2)(jnp.ones((1, 5, 5, 3))).shape
        (1, 5, 5, 6)
    """

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint,
            **kwargs)


class _SeparableConv(Layer):
    """The N-D separable convolution behind SeparableConv1D and SeparableConv2D."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        where = spatial.describe(self)
        rank = self.rank
        self.depth_multiplier = spatial.positive_int(
            depth_multiplier, "depth_multiplier", where)
        self.filters = spatial.positive_int(filters, "filters", where)
        self.kernel_size = spatial.int_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = spatial.int_tuple(strides, rank, "strides", where)
        self.padding = spatial.padding_mode(padding, where)
        self.data_format = spatial.data_format(data_format, where)
        self.dilation_rate = spatial.int_tuple(dilation_rate, rank, "dilation_rate", where)
        check_strides_and_dilation(self.strides, self.dilation_rate, where)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = spatial.input_channels(input_shape, self.data_format,
                                          spatial.describe(self))
        self.compute_output_shape(input_shape)  # rejects inputs smaller than the kernel
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
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
        self.compute_output_shape(inputs.shape)  # no silently empty output for small inputs
        dtype = self.compute_dtype
        outputs = _depthwise(self, cast(inputs, dtype), cast(self.depthwise_kernel.value, dtype))
        outputs = kernels.conv(
            outputs, cast(self.pointwise_kernel.value, dtype), (1,) * self.rank, "VALID",
            (1,) * self.rank, channels_first=self.data_format == "channels_first")
        return add_bias_and_activate(
            self, outputs, self.bias.value if self.bias is not None else None)

    def compute_output_shape(self, input_shape):
        return _output_shape(self, input_shape, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class SeparableConv1D(_SeparableConv):
    """1D separable convolution: a depthwise convolution, then a pointwise one. Arguments as
    for `SeparableConv2D`.

    Examples:
        >>> SeparableConv1D(4, 3)(jnp.ones((2, 8, 3))).shape
        (2, 6, 4)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, depth_multiplier=depth_multiplier,
            activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint,
            **kwargs)


class SeparableConv2D(_SeparableConv):
    """2D separable convolution: a depthwise convolution, then a 1x1 one mixing channels.

    Far fewer weights than a `Conv2D` of the same window: `depthwise_kernel` is
    `(kh, kw, C, depth_multiplier)`, `pointwise_kernel` is `(1, 1, C * depth_multiplier,
    filters)`, then `bias` `(filters,)`. Strides, padding and dilation apply to the depthwise
    step.

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as
            for `Conv2D`.
        depth_multiplier: depthwise kernels per input channel.
        depthwise_*, pointwise_*, bias_*: initializers, regularizers and constraints of the
            three weights; activity_regularizer as for `Conv2D`.

    Examples:
        >>> SeparableConv2D(8, 3, padding="same")(jnp.ones((1, 5, 5, 3))).shape
        (1, 5, 5, 8)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, depth_multiplier=depth_multiplier,
            activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint,
            **kwargs)


__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]
