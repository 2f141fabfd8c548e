"""Wrappers: layers that apply another layer differently (`TimeDistributed`, `Bidirectional`)."""

import jax
import jax.numpy as jnp

from lamina._registry import CustomObjectScope
from lamina._serialization import serialize_keras_object
from lamina.layers._sublayers import build_sublayer, own_scope
from lamina.layers.cells import build_shape_of, restore_sublayer
from lamina.layers.layer import Layer


class Wrapper(Layer):
    """The base of layers that wrap one layer (`self.layer`); not used on its own.

    The config holds the wrapped layer's config under `"layer"`, as Keras 3 writes it.

    Examples:
        >>> class Twice(Wrapper):
        ...     def call(self, inputs):
        ...         return self.layer(self.layer(inputs))
        >>> Twice(lamina.layers.Dense(3))(jnp.ones((2, 3))).shape   # one Dense, applied twice
        (2, 3)
        >>> Twice(lamina.layers.Dense(3)).get_config()["layer"]["class_name"]
        'Dense'
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004 (Keras raises ValueError)
                f"{type(self).__name__} wraps a keras.layers.Layer instance. Received: "
                f"layer={layer!r} of type {type(layer).__name__}.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        with own_scope(self):
            build_sublayer(self.layer, input_shape)
        self.built = True

    def get_config(self):
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = restore_sublayer(config.pop("layer"), config.get("name"),
                                 custom_objects=custom_objects)
        return super().from_config({**config, "layer": layer})


def _takes_argument(layer, name):
    return name in layer._call_signature.parameters or layer._call_takes_var_kwargs


class TimeDistributed(Wrapper):
    """Applies a layer to every time step of `(batch, timesteps, ...)` inputs, with the same
    weights for every step.

    The steps are folded into the batch axis, so the wrapped layer runs once on
    `(batch * timesteps, ...)`: one call, not a loop. Layers whose result for a sample depends
    on the rest of the batch (BatchNormalization in training) see all steps at once.

    Examples:
        >>> TimeDistributed(lamina.layers.Dense(8))(jnp.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed '{self.name}' needs inputs of rank 3 or more, (batch, "
                f"timesteps, ...), to apply '{self.layer.name}' to each step. Received input "
                f"shape: {input_shape}. Add a time axis, e.g. x[:, None].")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        with own_scope(self):
            build_sublayer(self.layer, self._child_input_shape(input_shape))
        self.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_input_shape(input_shape))
        return (child[0], input_shape[1]) + tuple(child[1:])

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {}
        if _takes_argument(self.layer, "training"):
            kwargs["training"] = training
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim < 2 or tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"TimeDistributed '{self.name}': the mask must start with the (batch, "
                    f"timesteps) axes of the inputs, {(batch, steps)}. Received a mask of "
                    f"shape {tuple(mask.shape)}.")
            if _takes_argument(self.layer, "mask"):
                kwargs["mask"] = mask.reshape((batch * steps,) + mask.shape[2:])
        folded = inputs.reshape((batch * steps,) + inputs.shape[2:])
        outputs = self.layer(folded, **kwargs)
        return jax.tree_util.tree_map(
            lambda y: y.reshape((batch, steps) + y.shape[1:]), outputs)


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _strip_prefix(name, prefix):
    return name.removeprefix(prefix)


def _copy_layer(layer, **overrides):
    """A new, unbuilt layer with `layer`'s config (and `overrides`), as Keras copies it."""
    classes = {type(sub).__name__: type(sub) for sub in layer._flatten_layers()}
    config = {**layer.get_config(), **overrides}
    with CustomObjectScope(classes):
        return type(layer).from_config(config)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges the two outputs.

    Args:
        layer: an `RNN` (`LSTM`, `GRU`, ...); a fresh copy of it runs forwards (named
            `forward_<name>`).
        merge_mode: `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or None for the list
            `[forward, backward]`.
        weights: initial weights, forward layer's first.
        backward_layer: the layer to run backwards; by default a copy of `layer` with
            `go_backwards=True` (named `backward_<name>`).

    With `return_sequences`, the backward outputs are flipped back to the input order before
    merging. With `return_state`, the forward states follow the output, then the backward ones.
    `initial_state` is the forward states followed by the backward states.

    Examples:
        >>> Bidirectional(lamina.layers.LSTM(4, return_sequences=True))(jnp.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    _compile_eager_calls = True  # as for RNN: an eager scan would recompile at every call

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004 (Keras raises ValueError)
                "Bidirectional wraps a recurrent keras.layers.Layer (e.g. LSTM(4)). "
                f"Received: layer={layer!r} of type {type(layer).__name__}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                "Bidirectional's backward_layer must be a keras.layers.Layer. Received: "
                f"backward_layer={backward_layer!r} of type {type(backward_layer).__name__}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge_mode for Bidirectional: {merge_mode!r}. Expected one of "
                "'concat', 'sum', 'mul', 'ave', or None (to get [forward, backward]).")
        for attribute in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(layer, attribute):
                raise ValueError(
                    "Bidirectional wraps a recurrent layer (RNN, LSTM, GRU, ...) that has a "
                    f"`{attribute}` attribute; {type(layer).__name__} '{layer.name}' has none.")
        super().__init__(**kwargs)
        self.forward_layer = _copy_layer(
            layer, name=f"forward_{_strip_prefix(layer.name, 'forward_')}")
        copies_backward = backward_layer is None
        if backward_layer is None:
            backward_layer = _copy_layer(
                layer, name=f"backward_{_strip_prefix(layer.name, 'backward_')}",
                go_backwards=True)
        self.backward_layer = backward_layer
        self._check_pair()
        for rnn in (self.forward_layer, self.backward_layer):
            # Keras zeroes masked steps' outputs when the sequences are merged step by step.
            if getattr(rnn, "zero_output_for_mask", None) is not None:
                rnn.zero_output_for_mask = rnn.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec
        source_shape = layer._build_shapes if layer.built else None
        self._build_copies(source_shape, source_shape if copies_backward else None)
        if weights is not None:
            self._initial_weights = list(weights)  # set by the Layer protocol after build

    def _check_pair(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                f"Bidirectional '{self.name}': the forward and backward layers must have "
                f"different go_backwards values; both have go_backwards="
                f"{forward.go_backwards}. Pass a layer with go_backwards=False, and a "
                "backward_layer with go_backwards=True.")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(
                    f"Bidirectional '{self.name}': the forward and backward layers must agree "
                    f"on {attribute}; the forward layer has {getattr(forward, attribute)} and "
                    f"the backward layer {getattr(backward, attribute)}.")

    def build(self, sequences_shape, initial_state_shape=None):
        with own_scope(self):
            build_sublayer(self.forward_layer, sequences_shape)
            build_sublayer(self.backward_layer, sequences_shape)
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        output_shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shapes = ()
        if self.return_state:
            output_shape, state_shapes = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = tuple(output_shape[:-1]) + (output_shape[-1] * 2,)
            outputs = (output_shape,)
        elif self.merge_mode is None:
            outputs = (tuple(output_shape), tuple(output_shape))
        else:
            outputs = (tuple(output_shape),)
        if self.return_state:
            return outputs + state_shapes + state_shapes
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def compute_mask(self, sequences, mask=None):
        """The output mask (Keras's rule): the time-step mask for sequence outputs, one per
        output when `merge_mode` is None, and none for states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        if not self.return_state:
            return output_mask
        states = [None] * (2 * len(getattr(self.forward_layer, "state_size", [None])))
        return (output_mask if isinstance(output_mask, list) else [output_mask]) + states

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if _takes_argument(self.forward_layer, "training"):
            kwargs["training"] = training
        if mask is not None and _takes_argument(self.forward_layer, "mask"):
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) % 2:
                raise ValueError(
                    f"Bidirectional '{self.name}': initial_state must be a list with the "
                    "forward layer's states followed by the backward layer's (e.g. "
                    "[h_fwd, c_fwd, h_bwd, c_bwd] for an LSTM). Received "
                    f"{initial_state!r}.")
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(
                initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = (jnp.concatenate([y, y_rev], axis=-1),)
        elif self.merge_mode == "sum":
            output = (y + y_rev,)
        elif self.merge_mode == "ave":
            output = ((y + y_rev) / 2,)
        elif self.merge_mode == "mul":
            output = (y * y_rev,)
        else:
            output = (y, y_rev)
        if self.return_state:
            return output + states
        return output[0] if len(output) == 1 else output

    @property
    def states(self):
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward and backward:
            return tuple(forward) + tuple(backward)
        return None

    def reset_state(self):
        if not self.stateful:
            raise AttributeError(
                f"reset_state() on Bidirectional '{self.name}': the wrapped layer is not "
                "stateful. Create it with stateful=True.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        """The Keras 2 name of `reset_state`."""
        self.reset_state()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_keras_object(self.forward_layer),
                "backward_layer": serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.get("name")
        # Built after the wrapper exists: __init__ copies the forward layer.
        shapes = [build_shape_of(config["layer"]), build_shape_of(config.get("backward_layer"))]
        config["layer"] = restore_sublayer(config["layer"], name, custom_objects, build=False)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = restore_sublayer(
                config["backward_layer"], name, custom_objects, build=False)
        layer = super().from_config(config)
        layer._build_copies(*shapes)
        return layer

    def _build_copies(self, forward_shape, backward_shape):
        """Creates the two layers' weights for the shapes they were built for (Keras 3 owns
        them right away when given a built layer or rebuilt from a config)."""
        with own_scope(self):
            if forward_shape is not None:
                build_sublayer(self.forward_layer, forward_shape)
            if backward_shape is not None:
                build_sublayer(self.backward_layer, backward_shape)


__all__ = ["Bidirectional", "TimeDistributed", "Wrapper"]
