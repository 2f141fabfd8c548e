"""Convolutional LSTMs (Shi et al., 2015): `ConvLSTM1D`, `ConvLSTM2D`, `ConvLSTM3D`.

An LSTM whose input and recurrent transformations are convolutions: the state of each step is
a feature map `(batch, *spatial, filters)` instead of a vector. The layers are `RNN`s over a
`ConvLSTMCell`, so masking, `go_backwards`, `stateful`, `return_state` and `unroll` work as for
`LSTM`, inside one `lax.scan`. Weights are Keras 3's, in its order and shapes (gates i, f, c, o
along the last axis): `kernel` `(*kernel_size, channels, 4 * filters)`, `recurrent_kernel`
`(*kernel_size, filters, 4 * filters)`, `bias` `(4 * filters,)`.

A step is two convolutions, one over the input and one over the previous state, each computing
all four gates at once (Keras runs eight, one per gate and side); per-gate dropout masks are
applied with a grouped convolution, still one per side.
"""

import jax.numpy as jnp
import numpy as np

from lamina import activations, constraints, initializers, random, regularizers
from lamina.layers import _conv_kernels as kernels
from lamina.layers import _spatial_args as spatial
from lamina.layers.cells import DropoutRNNCell
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.rnn import RNN


class ConvLSTMCell(DropoutRNNCell, Layer):
    """One step of a convolutional LSTM over `rank` spatial axes (the cell of `ConvLSTM1D/2D/3D`).

    `call(inputs, [h, c])` takes a step's input `(batch, *spatial, channels)` (channels first
    with `data_format="channels_first"`) and returns `(h_t, [h_t, c_t])`, where `z = conv(x,
    kernel) + bias + conv(h, recurrent_kernel)` is split into gates i, f, c, o and
    `c_t = σ(f) * c + σ(i) * tanh(c~)`, `h_t = σ(o) * tanh(c_t)`. The input convolution uses
    `strides`, `padding` and `dilation_rate`; the recurrent one keeps the state's size (stride
    1, "same" padding). Keras 3 has the class but does not export it; use the layers.

    Examples:
        >>> cell = ConvLSTMCell(2, filters=4, kernel_size=3, padding="same")
        >>> cell.build((1, 8, 8, 3))
        >>> h, (h2, c) = cell(jnp.ones((1, 8, 8, 3)), cell.get_initial_state(1))
        >>> h.shape, c.shape
        ((1, 8, 8, 4), (1, 8, 8, 4))
    """

    dropout_mask_count = 4  # one mask per gate, as Keras's cell draws them

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = spatial.describe(self)
        if rank not in (1, 2, 3):
            raise ValueError(
                f"{where}: `rank` (the number of spatial axes) must be 1, 2 or 3. Received: "
                f"rank={rank!r}.")
        self.rank = rank
        self.filters = spatial.positive_int(filters, "filters", where)
        self.kernel_size = spatial.int_tuple(kernel_size, rank, "kernel_size", where)
        self.strides = spatial.int_tuple(strides, rank, "strides", where, allow_zero=True)
        self.padding = spatial.padding_mode(padding, where)
        self.data_format = spatial.data_format(data_format, where)
        self.dilation_rate = spatial.int_tuple(dilation_rate, rank, "dilation_rate", where)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{where}: `strides` > 1 cannot be combined with `dilation_rate` > 1 (as in "
                f"Keras). Received: strides={self.strides}, dilation_rate="
                f"{self.dilation_rate}. Set one of them to 1.")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = unit_forget_bias
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed=seed)
        self.input_spec = InputSpec(ndim=rank + 2)
        self.state_size = -1  # the states are feature maps: see get_initial_state
        self.spatial_dims = None
        self.input_dim = None

    # ----------------------------------------------------------------------------- shapes
    def _check_step_shape(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{spatial.describe(self)} takes steps of rank {self.rank + 2} (batch, "
                f"{self.rank} spatial axes, channels). Received: step shape "
                f"{tuple(input_shape)}.")

    def compute_output_shape(self, inputs_shape, states_shape=None):
        """The shape of `h_t` (and of each state) for a step input of `inputs_shape`."""
        self._check_step_shape(inputs_shape)
        sizes = spatial.spatial_dims(inputs_shape, self.data_format)
        output = tuple(
            spatial.window_output_length(n, k, s, self.padding, d)
            for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate))
        spatial.check_output_positive(
            output, inputs_shape, spatial.describe(self),
            f"the kernel {self.kernel_size} with dilation_rate {self.dilation_rate}")
        shape = spatial.with_spatial(tuple(inputs_shape), self.data_format, output,
                                     self.filters)
        return shape, [shape, shape]

    def build(self, inputs_shape, states_shape=None):
        where = spatial.describe(self)
        self._check_step_shape(inputs_shape)
        spatial_dims = spatial.spatial_dims(inputs_shape, self.data_format)
        if None in spatial_dims:
            raise ValueError(
                f"{where}: ConvLSTM layers need static spatial sizes (the states are feature "
                f"maps of a fixed size). Received: step input shape {tuple(inputs_shape)}. "
                "Give keras.Input the full shape, e.g. shape=(None, 32, 32, 3).")
        self.input_dim = spatial.input_channels(inputs_shape, self.data_format, where)
        self.spatial_dims = tuple(spatial_dims)
        self.compute_output_shape(inputs_shape)  # rejects inputs smaller than the kernel
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.input_dim, 4 * self.filters), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, 4 * self.filters), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                base, filters = self.bias_initializer, self.filters

                def initializer(shape, dtype=None):
                    # The forget gate starts open (Jozefowicz et al., 2015).
                    return jnp.concatenate([
                        base((filters,), dtype=dtype), jnp.ones((filters,), dtype=dtype),
                        base((2 * filters,), dtype=dtype)])

            self.bias = self.add_weight(
                shape=(4 * self.filters,), name="bias", initializer=initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def get_initial_state(self, batch_size=None):
        """Zero `[h, c]` feature maps for a batch (needs the cell built: the sizes come from
        the input)."""
        if self.spatial_dims is None:
            raise ValueError(
                f"{spatial.describe(self)}: the state size depends on the input's spatial "
                "sizes; build the cell (or call the layer) before asking for initial states.")
        step = spatial.with_spatial((batch_size, *self.spatial_dims, self.input_dim)
                                    if self.data_format == "channels_last" else
                                    (batch_size, self.input_dim, *self.spatial_dims),
                                    self.data_format, self.spatial_dims)
        shape = self.compute_output_shape(step)[0]
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    # ----------------------------------------------------------------------------- the step
    def _read(self, variable):
        value = variable.value
        return value.astype(self.compute_dtype) if value.dtype != self.compute_dtype else value

    def _gate_conv(self, x, kernel, masks, strides, padding, dilation):
        """All four gates' convolution of `x`; with per-gate dropout masks, one grouped
        convolution of the four masked copies (group g reads copy g and writes gate g)."""
        channels_first = self.data_format == "channels_first"
        groups = 1
        if masks is not None:
            axis = 1 if channels_first else -1
            x = jnp.concatenate([x * m for m in masks], axis=axis)
            groups = 4
        return kernels.conv(x, kernel, strides, padding, dilation, channels_first, groups)

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        masks = recurrent_masks = None
        if training and 0.0 < self.dropout < 1.0:
            masks = self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            recurrent_masks = self.get_recurrent_dropout_mask(h)
        z = self._gate_conv(inputs, self._read(self.kernel), masks, self.strides,
                            self.padding.upper(), self.dilation_rate)
        if self.bias is not None:
            bias = self._read(self.bias)
            if self.data_format == "channels_first":
                bias = bias.reshape((-1,) + (1,) * self.rank)
            z = z + bias
        ones = (1,) * self.rank
        z = z + self._gate_conv(h, self._read(self.recurrent_kernel), recurrent_masks, ones,
                                "SAME", ones)
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=1 if self.data_format == "channels_first"
                                       else -1)
        gate = self.recurrent_activation
        c = gate(z_f) * c + gate(z_i) * self.activation(z_c)
        h = gate(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        # Keras's cell leaves `rank` out (its layers never save the cell); kept here so that the
        # cell alone can be rebuilt from its config.
        return {
            **super().get_config(),
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


_CELL_ARGUMENTS = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
    "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout")

_LAYOUTS = {
    1: ("(batch, time, steps, channels)", "(batch, time, channels, steps)"),
    2: ("(batch, time, rows, cols, channels)", "(batch, time, channels, rows, cols)"),
    3: ("(batch, time, depth, rows, cols, channels)",
        "(batch, time, channels, depth, rows, cols)"),
}


class _ConvLSTM(RNN):
    """The N-D convolutional LSTM behind ConvLSTM1D/2D/3D (`rank` is set by each)."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(
            rank=self.rank, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
            dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def __getattr__(self, name):
        # The cell's arguments read as the layer's own (`layer.filters`, `layer.padding`, ...).
        cell = self.__dict__.get("cell")
        if cell is not None and (name in _CELL_ARGUMENTS or name == "seed"):
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __call__(self, *args, **kwargs):
        if args:
            self._check_rank(args[0])
        return super().__call__(*args, **kwargs)

    def _check_rank(self, sequences):
        shape = getattr(sequences, "shape", None)
        rank = len(shape) if shape is not None else np.ndim(sequences)
        if rank != self.rank + 3:
            channels_last, channels_first = _LAYOUTS[self.rank]
            layout = channels_last if self.cell.data_format == "channels_last" else \
                channels_first
            received = tuple(shape) if shape is not None else np.shape(sequences)
            raise ValueError(
                f"{spatial.describe(self)} expects inputs of rank {self.rank + 3}: "
                f"{layout} (data_format='{self.cell.data_format}'). Received: inputs of "
                f"shape {received} (rank {rank}). Add the missing axes (a sequence of one "
                f"step is x[:, None]), or use the ConvLSTM layer for your number of spatial "
                "axes (ConvLSTM1D, ConvLSTM2D, ConvLSTM3D).")

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != self.rank + 3:
            self._check_rank(np.empty((0,) * len(sequences_shape)))
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = tuple(self.cell.compute_output_shape((batch,) + sequences_shape[2:])[0][1:])
        output = (batch, steps) + state if self.return_sequences else (batch,) + state
        if self.return_state:
            return output, (batch,) + state, (batch,) + state
        return output

    def compute_mask(self, sequences, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "rank"):
            cell_config.pop(key)
        seed = cell_config.pop("seed")
        return {**config, **cell_config,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "seed": seed}


class ConvLSTM1D(_ConvLSTM):
    """A convolutional LSTM over sequences of 1-D feature maps (Shi et al., 2015).

    Inputs `(batch, time, steps, channels)` (or `(batch, time, channels, steps)` with
    `data_format="channels_first"`); the output is the last state `h`, `(batch, new_steps,
    filters)`, or every step's with `return_sequences=True`. The arguments are `Conv1D`'s
    (`filters`, `kernel_size`, `strides`, `padding`, `data_format`, `dilation_rate`) and
    `LSTM`'s (activations, initializers, regularizers, constraints, `unit_forget_bias`,
    `dropout`, `recurrent_dropout`, `seed`, `return_sequences`, `return_state`,
    `go_backwards`, `stateful`, `unroll`). Call arguments: `mask` (boolean `(batch, time)`),
    `training`, `initial_state` (`[h, c]`).

    Examples:
        >>> layer = ConvLSTM1D(4, 3, padding="same", return_sequences=True)
        >>> layer(jnp.ones((2, 5, 10, 3))).shape
        (2, 5, 10, 4)
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """A convolutional LSTM over sequences of images (Shi et al., 2015), e.g. video frames or
    radar maps for next-frame prediction.

    Inputs `(batch, time, rows, cols, channels)` (or `(batch, time, channels, rows, cols)`
    with `data_format="channels_first"`); the output is the last state `h`, `(batch,
    new_rows, new_cols, filters)`, or every step's with `return_sequences=True`. The
    arguments are `Conv2D`'s and `LSTM`'s, as for `ConvLSTM1D`.

    Examples:
        >>> layer = ConvLSTM2D(4, 3, return_state=True)
        >>> h, h2, c = layer(jnp.ones((2, 5, 8, 8, 3)))
        >>> h.shape, c.shape
        ((2, 6, 6, 4), (2, 6, 6, 4))
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """A convolutional LSTM over sequences of volumes (Shi et al., 2015).

    Inputs `(batch, time, depth, rows, cols, channels)` (or channels first); the output is the
    last state `h`, `(batch, new_depth, new_rows, new_cols, filters)`, or every step's with
    `return_sequences=True`. The arguments are `Conv3D`'s and `LSTM`'s, as for `ConvLSTM1D`.

    Examples:
        >>> ConvLSTM3D(2, 3, padding="same")(jnp.ones((1, 3, 4, 4, 4, 1))).shape
        (1, 4, 4, 4, 2)
    """

    rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
