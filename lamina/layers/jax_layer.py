"""Bridges to the JAX ecosystem: `JaxLayer` (a pure JAX function with its parameters as a layer)
and `FlaxLayer` (a `flax.linen` module as a layer).

The parameters become lamina Variables (trainable), the non-trainable state becomes
non-trainable Variables, so the wrapped model trains with the rest of a lamina model (its
gradients and optimizer slots are ordinary ones), its state updates are carried through the
compiled step like BatchNormalization's, and its values are saved in the weights file. The
Variables are created in the order `jax.tree_util` flattens the trees, as Keras 3 does, so the
weights files of the two libraries line up.

Flax is optional: `FlaxLayer` imports it when created and says how to install it otherwise.
"""

import inspect
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _serialization
from lamina._runtime.dtypes import is_float, standardize_dtype
from lamina._runtime.rng import SeedGenerator, make_default_seed
from lamina._runtime.variable import Variable
from lamina.layers.layer import Layer


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool))
        for d in value)


def _placeholder_inputs(input_shape):
    """Ones of `input_shape` (a shape, or a nested structure of shapes), unknown sizes as 1."""
    if _is_shape(input_shape):
        return jnp.ones(tuple(1 if d is None else d for d in input_shape))
    if isinstance(input_shape, dict):
        return {key: _placeholder_inputs(value) for key, value in input_shape.items()}
    if isinstance(input_shape, (list, tuple)):
        return type(input_shape)(_placeholder_inputs(value) for value in input_shape)
    raise ValueError(f"Cannot make placeholder inputs of shape {input_shape!r}.")


def _is_variable(leaf):
    return isinstance(leaf, Variable)


def _values(tree):
    """The tree with each Variable replaced by its value (Variables are pytrees themselves)."""
    return jax.tree_util.tree_map(lambda leaf: leaf.value if _is_variable(leaf) else leaf, tree,
                                  is_leaf=_is_variable)


def _raw_key(seed):
    # Keras 3 on JAX hands `rng` as a raw uint32 key `[seed, counter]` (jax.random accepts it).
    return jnp.asarray(np.array([seed, 0], dtype=np.uint32))


def _signature(layer_name, fn, fn_name, allowed, required):
    if not callable(fn):
        raise TypeError(
            f"JaxLayer '{layer_name}': {fn_name} must be a function. Received: "
            f"{fn_name}={fn!r}")
    parameters = list(inspect.signature(fn).parameters)
    for name in parameters:
        if name not in allowed:
            raise ValueError(
                f"JaxLayer '{layer_name}': {fn_name} takes an argument `{name}`, which JaxLayer "
                f"does not know how to pass. {fn_name} may take only "
                f"{', '.join(f'`{a}`' for a in allowed)} (by these names, in any order). Wrap "
                "the function to adapt its arguments.")
    for name in required:
        if name not in parameters:
            raise ValueError(
                f"JaxLayer '{layer_name}': {fn_name} must take an argument named `{name}`. "
                f"Received a function with arguments {parameters}.")
    return parameters


class JaxLayer(Layer):
    """A layer that runs a pure JAX function, `call_fn`, on its inputs with its parameters.

    `call_fn` takes, by name and in any order, `inputs` (an array or a pytree of arrays) and
    any of `params` (the trainable parameters, a pytree), `state` (the non-trainable state, a
    pytree), `rng` (a raw `uint32[2]` JAX key, fresh at each training call; None in inference)
    and `training` (a Python bool). With `state` it returns `(outputs, new_state)`, and the
    new state is assigned to the layer's state Variables; otherwise it returns the outputs.

    The parameters are given as `params` / `state`, or created at build time by `init_fn`,
    which takes `inputs` (ones of the input's shape, unknown sizes as 1) and optionally `rng`
    and `training` (always True), and returns the params, or `(params, state)` when `call_fn`
    takes `state`. Floating leaves become Variables of the layer's dtype policy, other array
    and number leaves keep their dtype; other leaves (None, strings) are passed through.

    Saving: the config holds `call_fn` and `init_fn` (register them with
    `keras.saving.register_keras_serializable`); on loading, `init_fn` rebuilds the trees and
    the weights file restores their values. A layer made from `params` without `init_fn`
    cannot be rebuilt from its config (as in Keras). Files written by Keras 3 load here; Keras
    3.15 itself runs `init_fn` at load time only when TensorFlow is installed (its build asks
    TensorFlow whether it is tracing), so lamina's files load in Keras where TensorFlow is.

    Args:
        call_fn: the model function (see above).
        init_fn: the initialization function, or None when `params`/`state` are given.
        params: a pytree of initial trainable parameters.
        state: a pytree of initial non-trainable state.
        seed: the seed of the keys passed as `rng` (default: a random one).
        native_serialization_platforms: accepted for Keras compatibility (used only by Keras's
            TensorFlow backend); ignored.

    Examples:
        >>> def init_fn(rng, inputs):
        ...     return {"w": jax.random.normal(rng, (inputs.shape[-1], 2)), "b": jnp.zeros(2)}
        >>> def call_fn(params, inputs):
        ...     return inputs @ params["w"] + params["b"]
        >>> layer = JaxLayer(call_fn, init_fn)
        >>> layer(jnp.ones((3, 4))).shape
        (3, 2)
        >>> [tuple(w.shape) for w in layer.trainable_weights]   # b, w: jax.tree_util's order
        [(2,), (4, 2)]
    """

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None,
                 native_serialization_platforms=None, **kwargs):
        super().__init__(**kwargs)
        self.call_fn_arguments = _signature(
            self.name, call_fn, "call_fn", ("params", "state", "rng", "inputs", "training"),
            ("inputs",))
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        self.init_fn_arguments = None if init_fn is None else _signature(
            self.name, init_fn, "init_fn", ("rng", "inputs", "training"), ("inputs",))
        if init_fn is None and params is None and state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            raise ValueError(
                f"JaxLayer '{self.name}': call_fn takes "
                f"{'params' if self.call_fn_has_params else 'state'}, so the layer needs "
                "init_fn, params or state to create them; all three are None. Pass the initial "
                "params (and state), or an init_fn(rng, inputs) that returns them. (On loading "
                "a saved model, the config holds init_fn only: create the layer with an "
                "init_fn to be able to reload it.)")
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.seed = seed
        self.native_serialization_platforms = native_serialization_platforms
        # The trees of Variables are kept out of attribute tracking (their Variables are
        # tracked by add_weight, in flattening order) so that they stay plain pytrees.
        object.__setattr__(self, "params", None)
        object.__setattr__(self, "state", None)
        self._create_variables(params, trainable=True)
        self._create_variables(state, trainable=False)
        self.seed_generator = (SeedGenerator(seed) if "rng" in self.call_fn_arguments
                               else None)
        if params is not None or state is not None:
            self.built = True

    # ----------------------------------------------------------------------------- variables
    def _create_variables(self, values, trainable):
        def create(value):
            if isinstance(value, (jax.Array, np.ndarray, np.generic)) or (
                    isinstance(value, (bool, int, float)) and value is not None):
                array = np.asarray(value) if not isinstance(value, jax.Array) else value
                dtype = standardize_dtype(array.dtype)
                return self.add_weight(
                    shape=tuple(array.shape), initializer=jnp.asarray(array),
                    dtype=None if is_float(dtype) else dtype, trainable=trainable)
            return value

        tree = jax.tree_util.tree_map(create, values)
        object.__setattr__(self, "params" if trainable else "state", tree)

    def _init_rng(self):
        return _raw_key(make_default_seed())

    def _call_rng(self, training):
        return self.seed_generator.next() if training else None

    def _initialize(self, input_shape):
        inputs = _placeholder_inputs(input_shape)
        arguments = {"rng": self._init_rng(), "inputs": inputs, "training": True}
        # Run outside any trace: the values become the Variables' initial values.
        with jax.ensure_compile_time_eval():
            result = self.init_fn(*(arguments[name] for name in self.init_fn_arguments))
        if self.call_fn_has_state:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise ValueError(
                    f"JaxLayer '{self.name}': call_fn takes state, so init_fn must return "
                    f"(params, state). It returned {type(result).__name__}.")
            params, state = result
        else:
            params, state = result, None
        self._create_variables(params, trainable=True)
        self._create_variables(state, trainable=False)

    def build(self, input_shape):
        if self.params is None and self.state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            self._initialize(input_shape)
        self.built = True

    # ----------------------------------------------------------------------------- calling
    def call(self, inputs, training=False):
        training = bool(training)

        arguments = {
            "params": lambda: _values(self.params),
            "state": lambda: _values(self.state),
            "rng": lambda: self._call_rng(training),
            "inputs": lambda: inputs,
            "training": lambda: training,
        }
        result = self.call_fn(*(arguments[name]() for name in self.call_fn_arguments))
        if not self.call_fn_has_state:
            return result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ValueError(
                f"JaxLayer '{self.name}': call_fn takes state, so it must return "
                f"(outputs, new_state). It returned {type(result).__name__}.")
        outputs, new_state = result
        new_leaves, new_structure = jax.tree_util.tree_flatten(new_state)
        old_leaves, old_structure = jax.tree_util.tree_flatten(_values(self.state))
        if new_structure != old_structure:
            raise ValueError(
                f"JaxLayer '{self.name}': the state returned by call_fn does not have the "
                f"structure of the state it was given. Expected {old_structure}, received "
                f"{new_structure}. Return the new state in the same pytree structure.")
        variables = jax.tree_util.tree_leaves(self.state, is_leaf=_is_variable)
        for variable, new in zip(variables, new_leaves):
            if isinstance(variable, Variable):
                variable.assign(new)
        return outputs

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        return {
            **super().get_config(),
            "call_fn": _serialization.serialize_keras_object(self.call_fn),
            "init_fn": _serialization.serialize_keras_object(self.init_fn),
            "native_serialization_platforms": self.native_serialization_platforms,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("call_fn", "init_fn"):
            config[key] = _serialization.deserialize_keras_object(
                config.get(key), custom_objects=custom_objects)
        return cls(**config)


def _import_flax_linen():
    try:
        from flax import linen
    except ImportError as error:
        raise ImportError(
            "FlaxLayer wraps a Flax module and needs the `flax` package, which is not "
            f"installed ({error}). Install it with `pip install flax` (or "
            "`pip install lamina[flax]`).") from None
    return linen


class FlaxLayer(JaxLayer):
    """A layer that runs a `flax.linen` module: its `params` collection becomes trainable
    Variables, every other collection (`batch_stats`, ...) non-trainable Variables updated at
    each call.

    The module's method (`__call__`, or `method`) takes `inputs` and optionally `training`;
    `method` may also be a function taking the module first. Keys are handed to Flax as
    `rngs={"params": ..., "dropout": ...}` at initialization and `{"dropout": ...}` in training
    (none in inference).

    Saving: the config holds the module's config, so the module class must define
    `get_config()` (and `from_config` if its constructor needs it) and be registered with
    `keras.saving.register_keras_serializable`; the variables are restored from the weights
    file. Needs Flax (`pip install flax`).

    Args:
        module: a `flax.linen.Module` instance.
        method: the method to run (default `__call__`): a method of the module, its name, or
            a function `(module, inputs[, training])`.
        variables: the module's variables as `module.init` returns them (default: initialized
            at build time).
        seed: the seed of the keys passed to Flax.

    Examples:
        >>> import flax.linen as nn
        >>> layer = FlaxLayer(nn.Dense(3))
        >>> layer(jnp.ones((2, 4))).shape
        (2, 3)
        >>> len(layer.trainable_weights)   # the Dense's bias and kernel
        2
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        linen = _import_flax_linen()
        if not isinstance(module, linen.Module):
            raise TypeError(
                "FlaxLayer wraps a flax.linen.Module instance. Received: "
                f"module={module!r} of type {type(module).__name__}.")
        if isinstance(method, str):
            method = getattr(module, method)
        self.module = module
        self.method = method
        mutable = linen.DenyList(["params"])
        takes_training = "training" in inspect.signature(
            method or module.__call__).parameters

        def variables_of(params, state):
            return {**(params or {}), **(state or {})}

        if takes_training:
            def call_fn(params, state, rng, inputs, training):
                return self.module.apply(variables_of(params, state), inputs, rngs=rng,
                                         method=self.method, mutable=mutable,
                                         training=training)

            def init_fn(rng, inputs, training):
                return self._split_variables(self.module.init(
                    rng, inputs, method=self.method, training=training))
        else:
            def call_fn(params, state, rng, inputs):
                return self.module.apply(variables_of(params, state), inputs, rngs=rng,
                                         method=self.method, mutable=mutable)

            def init_fn(rng, inputs):
                return self._split_variables(self.module.init(rng, inputs, method=self.method))

        params, state = self._split_variables(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state,
                         **kwargs)

    @staticmethod
    def _split_variables(variables):
        """Flax's variables dict as `(params, state)`: `{"params": ...}` and the rest."""
        if variables is None:
            return None, None
        variables = dict(variables)
        params = {"params": variables.pop("params")} if "params" in variables else {}
        return params, variables

    def _init_rng(self):
        return {"params": _raw_key(make_default_seed()),
                "dropout": _raw_key(make_default_seed())}

    def _call_rng(self, training):
        return {"dropout": self.seed_generator.next()} if training else {}

    def get_config(self):
        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__
        config = super().get_config()
        del config["call_fn"], config["init_fn"]
        return {**config,
                "module": _serialization.serialize_keras_object(self.module),
                "method": _serialization.serialize_keras_object(method)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["module"] = _serialization.deserialize_keras_object(
            config["module"], custom_objects=custom_objects)
        method = config.get("method")
        if method is not None and not isinstance(method, str):
            method = _serialization.deserialize_keras_object(method,
                                                             custom_objects=custom_objects)
        config["method"] = method
        return cls(**config)


__all__ = ["FlaxLayer", "JaxLayer"]
