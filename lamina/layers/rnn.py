"""Recurrent layers: `RNN` (any cell over a sequence) and `SimpleRNN`, `LSTM`, `GRU`.

The recurrence is one `jax.lax.scan`: a single fused program whatever the sequence length, that
works eagerly, inside `keras.function` and under `keras.value_and_grad`. Masking, initial
states, `go_backwards`, `return_sequences`, `return_state` and `stateful` follow Keras 3 (JAX
backend), including its choice of what a masked step outputs.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina import regularizers
from lamina._runtime.scope import StateScope
from lamina._runtime.variable import Variable
from lamina._serialization import serialize_keras_object
from lamina.layers import cells as cells_module
from lamina.layers._sublayers import build_sublayer, own_scope
from lamina.layers.cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class RNN(Layer):
    """Runs a cell over the time axis of `(batch, timesteps, ...)` inputs.

    The cell is a layer (or any object) with `state_size` (an int, or a list with one entry per
    state) and `call(inputs, states)` returning `(output, new_states)`; `output_size` and
    `get_initial_state(batch_size)` are optional. A list of cells is stacked
    (`StackedRNNCells`).

    Args:
        cell: the cell, or a list of cells.
        return_sequences: return the output of every step `(batch, timesteps, units)` instead
            of the last one `(batch, units)`.
        return_state: also return the final states: `[output, *states]`.
        go_backwards: process the sequence in reverse (and return the reversed sequence).
        stateful: keep the final states of a batch as the initial states of the next (needs a
            fixed batch size); `reset_state()` zeroes them.
        unroll: unroll the loop into straight-line code in the compiled program (a larger
            program, sometimes faster for short sequences).
        zero_output_for_mask: masked steps output zeros instead of repeating the last output.

    Call arguments: `sequences`, `initial_state` (a list of arrays, one per state, each
    `(batch, size)`), `mask` (boolean `(batch, timesteps)`; False steps leave the states
    unchanged), `training`.

    Differs from Keras 3 on JAX: a `stateful=True` layer keeps its states from batch to batch
    in `fit`, `evaluate` and `predict`, as Keras documents and as its TensorFlow backend does
    (Keras's JAX trainer starts every batch from zeros).

    Examples:
        >>> layer = RNN(LSTMCell(4), return_sequences=True)
        >>> layer(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    # An eager call of a built RNN runs a cached compiled program: an eager scan would be
    # recompiled at every call.
    _compile_eager_calls = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(
                "RNN needs a cell with a `call(inputs, states)` method (e.g. "
                f"keras.layers.LSTMCell(units)). Received: cell={cell!r}")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError(
                f"The cell {cell!r} given to RNN has no `state_size` attribute. Set "
                "`self.state_size = units` (or a list with one size per state) in its "
                "__init__.")
        if not isinstance(state_size, (int, list, tuple)):
            raise ValueError(  # noqa: TRY004 (Keras raises ValueError)
                "A cell's state_size must be an int or a list of ints (one per state). "
                f"Received: state_size={state_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.single_state = isinstance(state_size, int)
        # The stateful states are Variables that are not weights (as in Keras): they stay out of
        # `weights`, so weight files match Keras's.
        object.__setattr__(self, "states", None)
        self.input_spec = InputSpec(min_ndim=3)

    # ----------------------------------------------------------------------------- shapes
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        output_size = cells_module._cell_output_size(self.cell)
        if not isinstance(output_size, int):
            raise ValueError(  # noqa: TRY004 (Keras raises ValueError)
                f"RNN '{self.name}': the cell's output_size must be an int. Received: "
                f"{output_size!r}")
        if self.return_sequences:
            output_shape = (batch, length, output_size)
        else:
            output_shape = (batch, output_size)
        if not self.return_state:
            return output_shape
        # The structure the call returns: the cell's initial states, traced without computing.
        structure = jax.eval_shape(lambda: self.get_initial_state(1))
        state_shapes = jax.tree_util.tree_map(lambda s: (batch,) + tuple(s.shape[1:]), structure)
        return (output_shape, *state_shapes)

    def compute_mask(self, sequences, mask=None):
        """The mask of the outputs (Keras's rule): the time-step mask follows the sequence
        output; the last output and the states have none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) < 3:
            raise ValueError(
                f"RNN '{self.name}' expects inputs of shape (batch, timesteps, features). "
                f"Received input shape: {tuple(sequences_shape)}.")
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        with own_scope(self):
            if isinstance(self.cell, Layer):
                build_sublayer(self.cell, step_shape)
            elif hasattr(self.cell, "build"):
                self.cell.build(step_shape)
            if self.stateful and self.states is None:
                self._create_state_variables(sequences_shape[0])
        if self.input_spec is not None and sequences_shape[-1] is not None:
            spec = self.input_spec
            self.input_spec = InputSpec(ndim=spec.ndim, min_ndim=spec.min_ndim,
                                        axes={-1: sequences_shape[-1]})
        self.built = True

    def _create_state_variables(self, batch_size):
        if batch_size is None:
            raise ValueError(
                f"RNN '{self.name}' is stateful, so its batch size must be fixed, but the "
                "input's batch size is unknown. Pass batch_size= to keras.Input (or "
                "batch_input_shape= to the first layer), or call the layer on data first.")
        initial = self.get_initial_state(batch_size)
        states = jax.tree_util.tree_map(
            lambda value: Variable(np.zeros(value.shape, value.dtype), trainable=False,
                                   name="rnn_state"),
            initial)
        object.__setattr__(self, "states", states)

    def get_initial_state(self, batch_size):
        """Zero states for a batch (or the cell's own `get_initial_state`), as a list."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is not None:
            states = make(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        return [jnp.zeros((batch_size, size), dtype=dtype) for size in self.state_size]

    def reset_state(self, states=None):
        """Sets the states of a stateful RNN to zeros (or to `states`, one array per state)."""
        if self.states is None:
            if self.stateful:
                return  # not built yet: the states start at zero anyway
            raise AttributeError(
                f"reset_state() on RNN '{self.name}': the layer is not stateful, so it keeps "
                "no states between calls. Create it with stateful=True.")
        variables = jax.tree_util.tree_leaves(self.states, is_leaf=_is_variable)
        if states is None:
            values = [jnp.zeros(v.shape, v.dtype) for v in variables]
        else:
            values = jax.tree_util.tree_leaves(
                states if isinstance(states, (list, tuple)) else [states])
            if len(values) != len(variables):
                raise ValueError(
                    f"reset_state() on RNN '{self.name}' received {len(values)} arrays, but "
                    f"the layer has {len(variables)} states of shapes "
                    f"{[v.shape for v in variables]}.")
        for variable, value in zip(variables, values):
            variable.assign(value)

    def reset_states(self, states=None):
        """The Keras 2 name of `reset_state`."""
        self.reset_state(states)

    # ----------------------------------------------------------------------------- calling
    def call(self, sequences, initial_state=None, mask=None, training=False):
        batch_size = sequences.shape[0]
        if self.stateful and self.states is not None:
            expected = jax.tree_util.tree_leaves(self.states, is_leaf=_is_variable)[0].shape[0]
            if batch_size != expected:
                raise ValueError(
                    f"RNN '{self.name}' is stateful and was built for batches of {expected}, "
                    f"but received a batch of {batch_size}. A stateful RNN keeps one state "
                    "per sample: feed batches of the same size (drop or pad the last one).")
        if initial_state is None:
            if self.stateful:
                states = jax.tree_util.tree_map(lambda v: v.value, self.states,
                                                is_leaf=_is_variable)
            else:
                states = self.get_initial_state(batch_size)
        else:
            states = self._check_initial_state(initial_state, batch_size)
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        states = jax.tree_util.tree_map(lambda s: jnp.asarray(s, dtype), states)
        if mask is not None:
            mask = self._check_mask(mask, sequences)

        last_output, outputs, final_states = self._recur(sequences, states, mask, training)
        compute_dtype = self.compute_dtype
        last_output, outputs, final_states = jax.tree_util.tree_map(
            lambda x: x.astype(compute_dtype), (last_output, outputs, list(final_states)))
        if self.stateful:
            for variable, value in zip(
                    jax.tree_util.tree_leaves(self.states, is_leaf=_is_variable),
                    jax.tree_util.tree_leaves(final_states)):
                variable.assign(value)
        output = outputs if self.return_sequences else last_output
        if self.return_state:
            return (output, *final_states)
        return output

    def _check_initial_state(self, initial_state, batch_size):
        default = self.get_initial_state(batch_size)
        expected, treedef = jax.tree_util.tree_flatten(default)
        received = jax.tree_util.tree_leaves(
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        received = [jnp.asarray(s) for s in received]
        if len(received) != len(expected) or any(
                r.shape != e.shape for r, e in zip(received, expected)):
            raise ValueError(
                f"RNN '{self.name}' expects initial_state to be {len(expected)} array(s) of "
                f"shapes {[tuple(e.shape) for e in expected]} (one per state of its "
                f"{type(self.cell).__name__}, state_size={self.state_size}), but received "
                f"{len(received)} of shapes {[tuple(r.shape) for r in received]}. Pass one "
                "array of shape (batch, size) per state, e.g. initial_state=[h, c] for an "
                "LSTM or initial_state=[h] for a GRU.")
        return jax.tree_util.tree_unflatten(treedef, received)

    def _check_mask(self, mask, sequences):
        mask = jnp.asarray(mask)
        if mask.ndim == 3 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if mask.ndim > 2 and mask.shape[:2] == tuple(sequences.shape[:2]):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the mask must have shape (batch, "
                f"timesteps) = {tuple(sequences.shape[:2])} for inputs of shape "
                f"{tuple(sequences.shape)} (a step is used or skipped as a whole), but "
                f"received a mask of shape {tuple(mask.shape)} (Masking marks every position "
                "but the last axis). Reduce it to one entry per step, e.g. mask = "
                f"ops.any(mask, axis={tuple(range(2, mask.ndim))}), and pass it as mask=.")
        if mask.shape != tuple(sequences.shape[:2]):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the mask must have shape (batch, "
                f"timesteps) = {tuple(sequences.shape[:2])} for inputs of shape "
                f"{tuple(sequences.shape)}, True for the steps to use, but received a mask of "
                f"shape {tuple(mask.shape)}. Pass one entry per sample and step, e.g. the "
                "mask of Embedding(mask_zero=True) or Masking, or ops.any(x != 0, axis=-1) "
                "for (batch, timesteps, features) inputs.")
        return mask.astype(bool)

    def _recur(self, sequences, states, mask, training):
        """The scan: returns `(last_output, outputs (batch, time, ...), final_states)`."""
        cell = self.cell
        if training:
            cells_module.configure_dropout_masks(cell, sequences[:, 0], states)
        try:
            # The input projection stays inside the loop, as in Keras: hoisting it out as one
            # large matmul measured slower on CPU (2.4 vs 1.3 ms forward, LSTM 64 units, batch
            # 32, 50 steps).
            def step(x, s):
                return cells_module.call_cell(cell, x, s, training)

            return self._scan(step, jnp.swapaxes(sequences, 0, 1), states, mask)
        finally:
            cells_module.reset_dropout_masks(cell)

    def _scan(self, step, inputs, states, mask):
        leaves, treedef = jax.tree_util.tree_flatten(states)
        stacked_cells = isinstance(self.cell, StackedRNNCells)
        zero_output = self.zero_output_for_mask

        def run_step(x, carry):
            # A cell may not assign Variables inside the loop: the value would escape the scan.
            with StateScope() as scope:
                output, new_states = step(x, carry)
            if scope.assigned():
                names = [v.path for v, _ in scope.assigned()]
                raise ValueError(
                    f"The cell of RNN '{self.name}' assigned the variables {names} inside its "
                    "step. A cell runs inside jax.lax.scan, where state updates cannot be "
                    "kept; compute such values outside the cell.")
            return output, self._conform_states(new_states, carry, treedef, leaves)

        def previous_output(carry, output):
            # Keras repeats the last output at a masked step: the first state (of the last cell
            # when stacked) holds it for the built-in cells.
            source = carry[-1] if stacked_cells else carry
            previous = jax.tree_util.tree_leaves(source)[0]
            if zero_output or previous.shape != output.shape:
                return jnp.zeros_like(output)
            return previous.astype(output.dtype)

        if mask is None:
            def body(carry, x):
                output, new_states = run_step(x, carry)
                return new_states, output

            xs = inputs
        else:
            def body(carry, x_and_mask):
                x, keep = x_and_mask
                output, new_states = run_step(x, carry)
                output = _where(keep, output, previous_output(carry, output))
                new_states = jax.tree_util.tree_map(
                    lambda new, old: _where(keep, new, old), new_states, carry)
                return new_states, output

            xs = (inputs, jnp.swapaxes(mask, 0, 1))
        if _recompute_in_backward(self.cell):
            # The backward loop recomputes each step from the states instead of reading the
            # ten or so intermediates per step that autodiff saves: on CPU the saved buffers'
            # memory traffic costs more than the recomputed step (an LSTM(64) trains 16%
            # faster, a GRU(64) 8%; benchmarks/README.md). A ConvLSTM's step is dominated by
            # its convolutions, and recomputing them measured 7% slower.
            body = jax.checkpoint(body, policy=jax.checkpoint_policies.nothing_saveable,
                                  prevent_cse=False)

        final_states, outputs = jax.lax.scan(
            body, states, xs, reverse=bool(self.go_backwards),
            unroll=True if self.unroll else 1)
        if self.go_backwards:
            # Keras returns the outputs in the order they were computed.
            outputs = jnp.flip(outputs, axis=0)
        last_output = outputs[-1]
        outputs = jnp.swapaxes(outputs, 0, 1)
        return last_output, outputs, final_states

    def _conform_states(self, new_states, carry, treedef, carry_leaves):
        """The cell's new states in the carry's structure and dtypes (checked)."""
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        new_leaves = jax.tree_util.tree_leaves(list(new_states))
        old_leaves = jax.tree_util.tree_leaves(carry)
        if len(new_leaves) != len(old_leaves) or any(
                n.shape != o.shape for n, o in zip(new_leaves, old_leaves)):
            raise ValueError(
                f"The cell of RNN '{self.name}' returned states of shapes "
                f"{[tuple(n.shape) for n in new_leaves]}, but its states have shapes "
                f"{[tuple(o.shape) for o in old_leaves]} (state_size={self.state_size}). "
                "call(inputs, states) must return (output, new_states) with one new state of "
                "the same shape per state.")
        return jax.tree_util.tree_unflatten(
            treedef, [n.astype(o.dtype) for n, o in zip(new_leaves, old_leaves)])

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        config = {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize_keras_object(self.cell),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "cell" in config:
            config["cell"] = cells_module.restore_sublayer(
                config["cell"], config.get("name"), custom_objects=custom_objects)
        return super().from_config(config)


def _recompute_in_backward(cell):
    """Whether the scan of `cell` recomputes its steps in the backward pass: on CPU, for the
    built-in dense cells (alone or stacked), whose steps are cheap to recompute."""
    if jax.default_backend() != "cpu":
        return False
    if isinstance(cell, StackedRNNCells):
        return all(_recompute_in_backward(inner) for inner in cell.cells)
    return type(cell) in (SimpleRNNCell, LSTMCell, GRUCell)


def _is_variable(value):
    return isinstance(value, Variable)


def _where(keep, new, old):
    """`keep` (batch,) selects, per sample, `new` over `old` (of any rank)."""
    keep = jnp.reshape(keep, keep.shape[:1] + (1,) * (new.ndim - 1))
    return jnp.where(keep, new, old)


class _CellLayer(RNN):
    """The shared shape of SimpleRNN, LSTM and GRU: an RNN over its own built-in cell, with
    the cell's arguments as its own (flat in the config, as Keras writes it)."""

    _cell_class = None
    _cell_name = None

    def __init__(self, cell_arguments, return_sequences, return_state, go_backwards, stateful,
                 unroll, activity_regularizer, kwargs):
        kwargs.pop("use_cudnn", None)  # lamina has one implementation for every device
        cell = self._cell_class(
            **cell_arguments, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name=self._cell_name, implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name):
        # The cell's arguments read as the layer's own (`lstm.units`, `lstm.dropout`, ...).
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ATTRIBUTES:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key)
        return {**config, **cell_config,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


_CELL_ATTRIBUTES = frozenset({
    "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed", "implementation",
})


class SimpleRNN(_CellLayer):
    """A fully connected RNN whose output is fed back: `RNN(SimpleRNNCell(units))` with the
    cell's arguments. See `SimpleRNNCell` for the step and `RNN` for the call arguments.

    Weights (Keras 3's paths): `simple_rnn/simple_rnn_cell/kernel`, `.../recurrent_kernel`,
    `.../bias`.

    Examples:
        >>> SimpleRNN(4)(jnp.ones((2, 5, 3))).shape
        (2, 4)
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(
            {"units": units, "activation": activation, "use_bias": use_bias,
             "kernel_initializer": kernel_initializer,
             "recurrent_initializer": recurrent_initializer, "bias_initializer": bias_initializer,
             "kernel_regularizer": kernel_regularizer,
             "recurrent_regularizer": recurrent_regularizer, "bias_regularizer": bias_regularizer,
             "kernel_constraint": kernel_constraint, "recurrent_constraint": recurrent_constraint,
             "bias_constraint": bias_constraint, "dropout": dropout,
             "recurrent_dropout": recurrent_dropout, "seed": seed},
            return_sequences, return_state, go_backwards, stateful, unroll,
            activity_regularizer, kwargs)

    def get_config(self):
        config = super().get_config()
        # Keras 3's SimpleRNN leaves the seed out of its config; kept identical on purpose.
        config.pop("seed")
        return config


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997): `RNN(LSTMCell(units))` with the
    cell's arguments. See `LSTMCell` for the gates and `RNN` for the call arguments; with
    `return_state=True` it returns `[output, h, c]`.

    Weights (Keras 3's paths and gate order i, f, c, o): `lstm/lstm_cell/kernel`
    `(features, 4 * units)`, `.../recurrent_kernel` `(units, 4 * units)`, `.../bias`
    `(4 * units,)`.

    Examples:
        >>> output, h, c = LSTM(4, return_state=True)(jnp.ones((2, 5, 3)))
        >>> output.shape, c.shape
        ((2, 4), (2, 4))
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        _check_use_cudnn(use_cudnn)
        super().__init__(
            {"units": units, "activation": activation,
             "recurrent_activation": recurrent_activation, "use_bias": use_bias,
             "kernel_initializer": kernel_initializer,
             "recurrent_initializer": recurrent_initializer, "bias_initializer": bias_initializer,
             "unit_forget_bias": unit_forget_bias, "kernel_regularizer": kernel_regularizer,
             "recurrent_regularizer": recurrent_regularizer, "bias_regularizer": bias_regularizer,
             "kernel_constraint": kernel_constraint, "recurrent_constraint": recurrent_constraint,
             "bias_constraint": bias_constraint, "dropout": dropout,
             "recurrent_dropout": recurrent_dropout, "seed": seed},
            return_sequences, return_state, go_backwards, stateful, unroll,
            activity_regularizer, kwargs)
        self.use_cudnn = use_cudnn


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al., 2014): `RNN(GRUCell(units))` with the cell's arguments.
    See `GRUCell` for the gates (`reset_after=True` is Keras 3's default) and `RNN` for the
    call arguments.

    Weights (Keras 3's paths and gate order z, r, h): `gru/gru_cell/kernel`
    `(features, 3 * units)`, `.../recurrent_kernel` `(units, 3 * units)`, `.../bias`
    `(2, 3 * units)` (`(3 * units,)` when `reset_after=False`).

    Examples:
        >>> GRU(4, return_sequences=True)(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        _check_use_cudnn(use_cudnn)
        super().__init__(
            {"units": units, "activation": activation,
             "recurrent_activation": recurrent_activation, "use_bias": use_bias,
             "kernel_initializer": kernel_initializer,
             "recurrent_initializer": recurrent_initializer, "bias_initializer": bias_initializer,
             "kernel_regularizer": kernel_regularizer,
             "recurrent_regularizer": recurrent_regularizer, "bias_regularizer": bias_regularizer,
             "kernel_constraint": kernel_constraint, "recurrent_constraint": recurrent_constraint,
             "bias_constraint": bias_constraint, "dropout": dropout,
             "recurrent_dropout": recurrent_dropout, "reset_after": reset_after, "seed": seed},
            return_sequences, return_state, go_backwards, stateful, unroll,
            activity_regularizer, kwargs)
        self.use_cudnn = use_cudnn


def _check_use_cudnn(use_cudnn):
    if use_cudnn not in ("auto", True, False):
        raise ValueError(
            "use_cudnn must be 'auto', True or False (lamina runs the same scan on every "
            f"device, so the value has no effect). Received: use_cudnn={use_cudnn!r}")


__all__ = ["GRU", "LSTM", "RNN", "SimpleRNN"]
