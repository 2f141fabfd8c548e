"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, and `StackedRNNCells`.

A cell maps `(inputs_t, states_{t-1})` to `(output_t, states_t)`; the `RNN` layer (`rnn.py`) runs
it over a sequence with one `jax.lax.scan`. Weight names, shapes and gate orders are Keras 3's
(LSTM: i, f, c, o; GRU: z, r, h), so weight files move between the two by variable order.

A built-in cell's `call` is `_step(_project(x))`: the input side (inputs times kernel, plus the
input bias, with the input dropout mask) and then the recurrence (with the recurrent mask).
"""

import contextlib

import jax
import jax.numpy as jnp

from lamina import activations, constraints, initializers, random, regularizers
from lamina._runtime import naming
from lamina._serialization import serialize_keras_object
from lamina.layers._sublayers import build_sublayer, deserialize_sublayer, own_scope
from lamina.layers.layer import Layer


class DropoutRNNCell:
    """Dropout masks for a cell, sampled once per sequence and reused at every time step.

    Mixed into a cell that has `dropout`, `recurrent_dropout` and `seed_generator`. The RNN
    layer asks for the masks before its scan (`get_dropout_mask`), because sampling advances the
    cell's SeedGenerator, a state assignment that cannot happen inside the scanned step; the step
    then finds the cached masks. The RNN forgets them after the sequence (`reset_dropout_mask`).
    A cell with `dropout_mask_count = n` gets a list of `n` independent masks (one per gate).
    """

    dropout_mask_count = None

    def _create_dropout_mask(self, step_input, rate):
        count = self.dropout_mask_count
        shape = tuple(step_input.shape) if count is None else (count, *step_input.shape)
        # One draw for all the masks: each draw is a separate random-bits computation.
        masks = random.dropout(jnp.ones(shape, step_input.dtype), rate, seed=self.seed_generator)
        return masks if count is None else list(masks)

    def get_dropout_mask(self, step_input):
        """The mask for the inputs (shape of one step's input), sampled on first request."""
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input):
        """The mask for the previous state, sampled on first request."""
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout)
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


def _masked_matmul(x, masks, kernel, blocks):
    """`x @ kernel` for one step `x` `(batch, in)` multiplied by a dropout mask, or by a
    separate mask for each block of columns when `masks` is a list (Keras's implementation 1)."""
    if masks is None:
        return jnp.matmul(x, kernel)
    if not isinstance(masks, (list, tuple)):
        return jnp.matmul(x * masks, kernel)
    # One batched matmul over the blocks: (blocks, batch, in) x (in, blocks, units).
    stacked = jnp.stack(masks)
    units = kernel.shape[-1] // blocks
    out = jnp.einsum("g...i,igu->...gu", x[None] * stacked,
                     jnp.reshape(kernel, (kernel.shape[0], blocks, units)))
    return jnp.reshape(out, out.shape[:-2] + (blocks * units,))


def _is_nested(states):
    return isinstance(states, (list, tuple))


class _RecurrentCell(DropoutRNNCell, Layer):
    """What SimpleRNNCell, LSTMCell and GRUCell share: checks, weights, config, initial state."""

    _blocks = 1  # blocks of `units` columns in the kernels: 1, 4 (LSTM) or 3 (GRU)

    def __init__(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                 **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': units must be a positive integer. "
                f"Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        if recurrent_activation is not None:
            self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        # Clipped, as Keras does: a rate of 1 means "no dropout" in the step (0 < rate < 1).
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        # Keras's implementation 1 (one mask per gate) is forced by recurrent dropout.
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        if self.implementation == 1 and self._blocks > 1:
            self.dropout_mask_count = self._blocks
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed=seed)
        self.output_size = units

    def _add_kernels(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known number of input features "
                f"to create its kernel, but the step input shape is {tuple(input_shape)}.")
        width = self.units * self._blocks
        self.kernel = self.add_weight(
            shape=(input_dim, width), name="kernel", initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)

    def _add_bias(self, shape, initializer):
        self.bias = self.add_weight(
            shape=shape, name="bias", initializer=initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _read(self, variable):
        # Under a mixed policy (float32 weights, float16 compute) the matmuls run in the
        # compute dtype, as Keras's autocast does.
        value = variable.value
        return value.astype(self.compute_dtype) if value.dtype != self.compute_dtype else value

    def _input_masks(self, inputs, training):
        if training and 0.0 < self.dropout < 1.0:
            return self.get_dropout_mask(inputs)
        return None

    def _recurrent_masks(self, state, training):
        if training and 0.0 < self.recurrent_dropout < 1.0:
            return self.get_recurrent_dropout_mask(state)
        return None

    def call(self, inputs, states, training=False):
        return self._step(self._project(inputs, training), states, training)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if _is_nested(self.state_size) else [self.state_size]
        return [jnp.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def _config(self, **own):
        base = super().get_config()
        common = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            **own,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
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
        return {**base, **common}


class SimpleRNNCell(_RecurrentCell):
    """One step of a fully connected RNN: `h_t = activation(x_t @ kernel + h_{t-1} @
    recurrent_kernel + bias)`; the output is `h_t`.

    Weights: `kernel` `(features, units)`, `recurrent_kernel` `(units, units)`, `bias`
    `(units,)`. `call(inputs, states, training=False)` takes `states=[h]` and returns
    `(h_t, [h_t])`. Use it inside `RNN`, or use the `SimpleRNN` layer.

    Examples:
        >>> cell = SimpleRNNCell(4)
        >>> h, [state] = cell(jnp.ones((2, 3)), [jnp.zeros((2, 4))])
        >>> h.shape, state.shape
        ((2, 4), (2, 4))
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.state_size = units

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = None
        if self.use_bias:
            self._add_bias((self.units,), self.bias_initializer)
        self.built = True

    def _project(self, inputs, training):
        x = _masked_matmul(inputs, self._input_masks(inputs, training), self._read(self.kernel), 1)
        return x + self._read(self.bias) if self.bias is not None else x

    def _step(self, x, states, training):
        h = states[0] if _is_nested(states) else states
        masks = self._recurrent_masks(h, training)
        output = self.activation(x + _masked_matmul(h, masks, self._read(self.recurrent_kernel), 1))
        return output, [output] if _is_nested(states) else output

    def get_config(self):
        return self._config()


class LSTMCell(_RecurrentCell):
    """One step of a long short-term memory network (Hochreiter & Schmidhuber, 1997).

    With `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias` split into gates i, f, c, o
    (Keras's order): `c_t = σ(f) * c_{t-1} + σ(i) * tanh(c)`, `h_t = σ(o) * tanh(c_t)`, where σ is
    `recurrent_activation` and tanh is `activation`. Weights: `kernel` `(features, 4 * units)`,
    `recurrent_kernel` `(units, 4 * units)`, `bias` `(4 * units,)`, whose forget-gate quarter
    starts at 1 when `unit_forget_bias`. `call(inputs, [h, c])` returns `(h_t, [h_t, c_t])`.

    Examples:
        >>> cell = LSTMCell(4)
        >>> h, (h2, c) = cell(jnp.ones((2, 3)), [jnp.zeros((2, 4)), jnp.zeros((2, 4))])
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """

    _blocks = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                base, units = self.bias_initializer, self.units

                def initializer(shape, dtype=None):
                    # The forget gate starts open (Jozefowicz et al., 2015).
                    return jnp.concatenate([
                        base((units,), dtype=dtype), jnp.ones((units,), dtype=dtype),
                        base((2 * units,), dtype=dtype)])

            self._add_bias((4 * self.units,), initializer)
        self.built = True

    def _project(self, inputs, training):
        x = _masked_matmul(inputs, self._input_masks(inputs, training), self._read(self.kernel), 4)
        return x + self._read(self.bias) if self.bias is not None else x

    def _step(self, x, states, training):
        h, c = states[0], states[1]
        masks = self._recurrent_masks(h, training)
        z = x + _masked_matmul(h, masks, self._read(self.recurrent_kernel), 4)
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        gate = self.recurrent_activation
        c = gate(z_f) * c + gate(z_i) * self.activation(z_c)
        h = gate(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return self._config(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            unit_forget_bias=self.unit_forget_bias)


class GRUCell(_RecurrentCell):
    """One step of a gated recurrent unit (Cho et al., 2014), gates in Keras's order z, r, h.

    `z = σ(x W_z + h W_z')`, `r = σ(x W_r + h W_r')`, candidate
    `ĥ = tanh(x W_h + r * (h W_h' + b_h'))` when `reset_after` (Keras 3's default, the cuDNN
    form) or `tanh(x W_h + (r * h) W_h')` otherwise, and `h_t = z * h + (1 - z) * ĥ`. Weights:
    `kernel` `(features, 3 * units)`, `recurrent_kernel` `(units, 3 * units)`, `bias`
    `(2, 3 * units)` (input and recurrent biases) with `reset_after`, else `(3 * units,)`.
    `call(inputs, [h])` returns `(h_t, [h_t])`.

    Examples:
        >>> cell = GRUCell(4)
        >>> h, [state] = cell(jnp.ones((2, 3)), [jnp.zeros((2, 4))])
        >>> h.shape
        (2, 4)
    """

    _blocks = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.reset_after = reset_after
        self.state_size = units

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = None
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self._add_bias(shape, self.bias_initializer)
        self.built = True

    def _project(self, inputs, training):
        x = _masked_matmul(inputs, self._input_masks(inputs, training), self._read(self.kernel), 3)
        if self.bias is None:
            return x
        bias = self._read(self.bias)
        return x + (bias[0] if self.reset_after else bias)

    def _step(self, x, states, training):
        h = states[0] if _is_nested(states) else states
        units = self.units
        kernel = self._read(self.recurrent_kernel)
        masks = self._recurrent_masks(h, training)
        h_z, h_r, h_h = (h, h, h) if masks is None else [h * m for m in masks]
        x_z, x_r, x_h = jnp.split(x, 3, axis=-1)
        gate = self.recurrent_activation
        if self.reset_after:
            inner = _masked_matmul(h, masks, kernel, 3)
            if self.bias is not None:
                inner = inner + self._read(self.bias)[1]
            r_z, r_r, r_h = jnp.split(inner, 3, axis=-1)
            z = gate(x_z + r_z)
            r = gate(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            z = gate(x_z + jnp.matmul(h_z, kernel[:, :units]))
            r = gate(x_r + jnp.matmul(h_r, kernel[:, units:2 * units]))
            candidate = self.activation(x_h + jnp.matmul(r * h_h, kernel[:, 2 * units:]))
        h = z * h + (1 - z) * candidate
        return h, [h] if _is_nested(states) else h

    def get_config(self):
        return self._config(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            reset_after=self.reset_after)


def build_shape_of(config):
    """The input shape a sublayer's config records in its `build_config`, or None."""
    build_config = config.get("build_config") if isinstance(config, dict) else None
    shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
    return _tuples(shape) if shape is not None else None


def _tuples(shape):
    if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return type(shape)(_tuples(s) for s in shape)
    return shape


def owner_scope(owner_name):
    """The name scope of a container being rebuilt from its config (`owner_name`, its config's
    name): its sublayers' weights get the container's name in their paths."""
    return naming.name_scope(owner_name) if owner_name else contextlib.nullcontext()


def restore_sublayer(config, owner_name, custom_objects=None, build=True):
    """Rebuilds a container's sublayer from its config; with `build`, also creates its
    weights when the config records the shape it was built for, as Keras 3 does, so that a
    container made by `from_config` can take `set_weights` or a weights file right away.

    The weights are created inside the container's name scope (`owner_name`), and so are those
    of the sublayer's own sublayers (`rnn/stacked_rnn_cells/lstm_cell/kernel`): Keras gives
    them paths without the container's name.
    """
    with owner_scope(owner_name):
        layer = deserialize_sublayer(config, custom_objects=custom_objects)
        shape = build_shape_of(config)
        if build and shape is not None and isinstance(layer, Layer):
            build_sublayer(layer, shape)
    return layer


def _cell_output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if _is_nested(state_size) else state_size


def _accepts_training(cell):
    if isinstance(cell, Layer):
        return cell._call_takes_training or cell._call_takes_var_kwargs
    import inspect

    try:
        return "training" in inspect.signature(cell.call).parameters
    except (TypeError, ValueError):
        return False


def call_cell(cell, inputs, states, training):
    """Calls a cell (a Layer or any object with `call` and `state_size`) for one step."""
    kwargs = {"training": training} if _accepts_training(cell) else {}
    if isinstance(cell, Layer):
        return cell(inputs, states, **kwargs)
    return cell.call(inputs, states, **kwargs)


class StackedRNNCells(Layer):
    """Several cells run as one: each step feeds the output of a cell to the next.

    `RNN([cell_1, cell_2])` wraps its list in this class. The states are the cells' states, one
    entry per cell; the output is the last cell's.

    Examples:
        >>> cells = StackedRNNCells([LSTMCell(4), GRUCell(3)])
        >>> cells.state_size
        [[4, 4], 3]
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not hasattr(cell, "call") or getattr(cell, "state_size", None) is None:
                raise ValueError(
                    f"StackedRNNCells '{self.name}': every cell needs a `call(inputs, states)` "
                    f"method and a `state_size` attribute. Received: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            make = getattr(cell, "get_initial_state", None)
            if make is not None:
                states.append(make(batch_size=batch_size))
            elif _is_nested(cell.state_size):
                states.append([jnp.zeros((batch_size, d), dtype=self.compute_dtype)
                               for d in cell.state_size])
            else:
                states.append(jnp.zeros((batch_size, cell.state_size), dtype=self.compute_dtype))
        return states

    def build(self, input_shape):
        with own_scope(self):
            for cell in self.cells:
                if isinstance(cell, Layer):
                    build_sublayer(cell, input_shape)
                input_shape = (input_shape[0], _cell_output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = _is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            inputs, cell_states = call_cell(cell, inputs, cell_states, training)
            if not _is_nested(cell_states):
                cell_states = [cell_states]
            new_states.append(cell_states if was_list or len(cell_states) != 1
                              else cell_states[0])
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(),
                "cells": [serialize_keras_object(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [restore_sublayer(c, config.get("name"), custom_objects=custom_objects)
                 for c in config.pop("cells")]
        return super().from_config({**config, "cells": cells})


def configure_dropout_masks(cell, step_input, states):
    """Samples the dropout masks of `cell` (and of stacked cells) before a scan."""
    if isinstance(cell, DropoutRNNCell):
        cell.get_dropout_mask(step_input)
        cell.get_recurrent_dropout_mask(jax.tree_util.tree_leaves(states)[0])
    if isinstance(cell, StackedRNNCells):
        for inner, inner_states in zip(cell.cells, states):
            configure_dropout_masks(inner, step_input, inner_states)
            step_input = jnp.zeros(step_input.shape[:1] + (_cell_output_size(inner),),
                                   step_input.dtype)


def reset_dropout_masks(cell):
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    if isinstance(cell, StackedRNNCells):
        for inner in cell.cells:
            reset_dropout_masks(inner)


__all__ = ["GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"]
