"""`Layer`: the protocol every layer, block and model follows.

A layer creates its weights in `build(input_shape)`, called once, lazily, before the first
`call`; it computes in `call(inputs, training=None)`. Everything around that is here: tracking
of weights and sublayers, the `training` flag reaching nested layers, `add_loss` and `losses`,
input checks, symbolic calls for the functional API, and configs.

Weights are ordinary `Variable`s, so a layer runs eagerly, inside `keras.function`, under
`keras.value_and_grad`, or purely through `stateless_call`, with no change to its code.
"""

import contextlib
import contextvars
import inspect
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina import constraints, dtype_policies, initializers, regularizers
from lamina._runtime import naming, remat
from lamina._runtime.arrays import host_copy, to_device
from lamina._runtime.dtypes import is_float, standardize_dtype
from lamina._runtime.masking import get_keras_mask, set_keras_mask
from lamina._runtime.scope import current_scope, run_pure
from lamina._runtime.state import has_tracers
from lamina._runtime.stateful import Stateful
from lamina._runtime.traceback_filter import filter_traceback
from lamina._runtime.variable import AutocastScope, Variable, autocast_dtype, created_by
from lamina.layers import _masking, symbolic
from lamina.layers._remat import rematerialized_call
from lamina.layers.input_spec import assert_input_compatibility
from lamina.quantizers.config import Int4QuantizationConfig, validate_and_resolve_config

_call_context = contextvars.ContextVar("lamina_layer_call_context", default=None)

_NO_SCOPE = contextlib.nullcontext()  # reusable: it holds no state
_PLAIN_POLICIES = (dtype_policies.DTypePolicy, dtype_policies.FloatDTypePolicy)
_ALLOWED_KWARGS = {"input_shape", "input_dim", "batch_input_shape", "batch_size", "weights"}


class _CallContext:
    __slots__ = ("entry_layer", "training")

    def __init__(self, entry_layer, training):
        self.entry_layer = entry_layer
        self.training = training


# Signatures by function: `inspect.signature` costs tens of microseconds per call, and every
# layer construction asks for its class's __init__ and its call (weak keys: classes defined
# in a loop or a test do not stay alive for them).
_SIGNATURES = weakref.WeakKeyDictionary()


def _signature(function):
    """`inspect.signature(function)` for a plain function or a bound method, cached."""
    key = getattr(function, "__func__", function)
    try:
        cached = _SIGNATURES.get(key)
    except TypeError:  # not weakly referenceable (a builtin): no cache
        return inspect.signature(function)
    if cached is None or cached[0] is not function.__class__:
        cached = _SIGNATURES[key] = (function.__class__, inspect.signature(function))
    return cached[1]


def _capture_init_arguments(cls, args, kwargs):
    """The constructor arguments, if they are all plain values (for an automatic get_config)."""
    signature = _signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    parameters = signature.parameters
    arguments.pop(next(iter(parameters)), None)  # self
    for name, parameter in parameters.items():
        if parameter.kind == inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind == inspect.Parameter.VAR_POSITIONAL:
            if arguments.pop(name, ()):
                return None
    arguments.pop("name", None)
    plain = (str, int, float, bool, type(None))

    def is_plain(value):
        if isinstance(value, (list, tuple)):
            return all(is_plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
        return isinstance(value, plain)

    return arguments if all(is_plain(v) for v in arguments.values()) else None


class Layer(Stateful):
    """The base class of layers (and of models, which are layers with more to them).

    Subclass it, create weights in `build(input_shape)` with `add_weight`, and compute in
    `call(inputs)` (add a `training=None` argument for behaviour that differs in training).

    Args:
        activity_regularizer: a regularizer applied to the layer's outputs; its value (divided
            by the batch size) joins `losses`.
        trainable: whether the layer's weights are updated by training.
        dtype: the dtype policy: `"float32"`, `"mixed_float16"`, a `DTypePolicy`, ...
        autocast: whether floating inputs are cast to the compute dtype.
        name: the name; unique by default (`dense`, `dense_1`, ...).
        input_shape: (Sequential's first layer) the shape of one sample, without the batch.

    Examples:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.factor = self.add_weight(shape=(), initializer="ones", name="factor")
        ...     def call(self, inputs):
        ...         return inputs * self.factor
        >>> Scale()(jnp.ones((2, 3))).shape
        (2, 3)
    """

    _lamina_tracked_as = "layers"
    # Models answer eager calls through a compiled forward pass; plain layers run op by op.
    _compile_eager_calls = False
    _untracked_attributes = frozenset({"_losses", "_inbound_nodes", "_init_arguments"})
    # Whether calls find, pass on and attach Keras masks; operations (keras.ops nodes, user
    # Operations) take their arguments as given, as in Keras.
    _mask_plumbing = True
    # Keras converts a call's inputs into a new kwargs dict unless this is False (functional
    # models): that decides which filled-in arguments a symbolic call records in its node.
    _convert_input_args = True

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        object.__setattr__(instance, "_init_arguments", _capture_init_arguments(cls, args, kwargs))
        return instance

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True,
                 name=None, **kwargs):
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{ {k: kwargs[k] for k in sorted(unknown)} }. Check the spelling; a layer's "
                "own arguments are listed in its docstring.")
        collections = {"layers": [], "trainable_variables": [], "non_trainable_variables": [],
                       "metrics": [], "seed_generators": []}
        Stateful.__init__(self, collections)
        own = object.__setattr__
        for kind, items in collections.items():
            own(self, f"_{kind}", items)  # the tracker's lists, under short names
        own(self, "_losses", [])
        own(self, "_inbound_nodes", [])
        # Rematerialization is chosen where a layer is created (keras.RematScope), as in Keras.
        own(self, "_remat_mode", remat.current_mode())
        if name is None:
            name = naming.unique_name(naming.to_snake_case(type(self).__name__))
        elif not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"A layer's name must be a non-empty string without '/'. Received: name={name!r}")
        self.name = name
        self._trainable = bool(trainable)
        try:
            self._dtype_policy = dtype_policies.get(dtype)
        except ValueError as error:  # name the layer: the dtype often comes from its config
            raise ValueError(f"Layer '{name}' ({type(self).__name__}), argument 'dtype': "
                             f"{error}") from None
        self.autocast = autocast
        self.built = False
        self.input_spec = None
        self._build_shapes = None
        self.activity_regularizer = _get_regularizer(activity_regularizer)
        self._call_signature = _signature(self.call)
        parameters = self._call_signature.parameters
        self._call_takes_training = "training" in parameters
        self._call_takes_var_kwargs = any(
            p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        # Masks (Keras 3's rules, in _masking.py): the call's mask parameters, and whether the
        # layer supports masking (by default: whether it defines compute_mask).
        own(self, "_call_mask_parameters", frozenset(
            name for name in parameters if name == "mask" or name.endswith("_mask")))
        own(self, "_default_compute_mask", type(self).compute_mask is Layer.compute_mask)
        own(self, "_supports_masking", not self._default_compute_mask)

        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self._batch_input_shape = None if batch_input_shape is None else tuple(batch_input_shape)
        self._initial_weights = kwargs.pop("weights", None)

    # ----------------------------------------------------------------------------- tracking
    def _flatten_layers(self, include_self=True, recursive=True):
        """This layer and its sublayers, depth first, each once."""
        if include_self and recursive:
            cached = self.__dict__.get("_flat_layers_cache")
            if cached is not None and cached[0] == self._version:
                return cached[1]
        result = [self] if include_self else []
        seen = {id(self)}
        stack = list(reversed(self._layers))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            result.append(layer)
            if recursive:
                stack.extend(reversed(layer._layers))
        if include_self and recursive:
            object.__setattr__(self, "_flat_layers_cache", (self._version, result))
        return result

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for variable in self._trainable_variables:
            variable.trainable = value
        for layer in self._layers:
            layer.trainable = value
        self._mark_changed(structural=True)

    def _own_variables(self):
        return self._trainable_variables + self._non_trainable_variables

    @property
    def weights(self):
        """The layer's weights and its sublayers' (not metric state or random seeds)."""
        result, seen = [], set()
        for layer in self._flatten_layers():
            for variable in layer._own_variables():
                if id(variable) not in seen:
                    seen.add(id(variable))
                    result.append(variable)
        return result

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    @property
    def variables(self):
        """All state: weights plus random seed state, of this layer and its sublayers."""
        result, seen = [], set()
        for layer in self._flatten_layers():
            for variable in layer._own_variables() + [g.state for g in layer._seed_generators]:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    result.append(variable)
        return result

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        if not self.trainable:
            return self.variables
        return [v for v in self.variables if not v.trainable]

    @property
    def metrics(self):
        result = []
        for layer in self._flatten_layers():
            result.extend(m for m in layer._metrics if not any(m is r for r in result))
        return result

    @property
    def metrics_variables(self):
        return [v for metric in self.metrics for v in metric.variables]

    def get_weights(self):
        """The values of `weights`, as NumPy arrays."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        """Sets `weights` from a list of arrays (checked first: a mismatch changes nothing)."""
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(
                f"set_weights on layer '{self.name}' received {len(weights)} arrays, but the "
                f"layer has {len(variables)} weights ({[v.path for v in variables]}).")
        checked = [v._check_assignable(np.asarray(w)) for v, w in zip(variables, weights)]
        for variable, value in zip(variables, checked):
            variable.assign(value)

    def count_params(self):
        """The number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(
                f"count_params() on layer '{self.name}': the layer is not built yet, so its "
                "weights do not exist. Call it on data, or call build(input_shape), first.")
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self.weights))

    # ----------------------------------------------------------------------------- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None, **kwargs):
        """Creates a weight Variable owned by this layer.

        Keras 3's argument order, plus the older form with the name first
        (`self.add_weight("total", initializer="zeros")`): a string first argument is the name.
        The default initializer is Glorot uniform for floats and zeros otherwise.
        """
        if isinstance(shape, str):
            name, shape = shape, kwargs.pop("shape", None)
        if "use_resource" in kwargs or "synchronization" in kwargs:
            kwargs.pop("use_resource", None)
            kwargs.pop("synchronization", None)
        if kwargs:
            raise TypeError(
                f"add_weight() on layer '{self.name}' got unexpected arguments "
                f"{sorted(kwargs)}. It accepts shape, initializer, dtype, trainable, autocast, "
                "regularizer, constraint, aggregation and name.")
        shape = () if shape is None else shape
        dtype = self.variable_dtype if dtype is None else dtype
        try:
            dtype = standardize_dtype(dtype)
        except ValueError as error:
            raise ValueError(
                f"Layer '{self.name}' cannot create weight {name!r}: {error}") from None
        if initializer is None:
            initializer = "glorot_uniform" if is_float(dtype) else "zeros"
        initializer = initializers.get(initializer)
        # The Variable validates the shape and the memory it needs before computing its value;
        # `created_by` makes its errors name this layer.
        with self._name_scope(), created_by(f"Layer '{self.name}'"):
            variable = Variable(initializer, shape=shape, dtype=dtype, trainable=trainable,
                                autocast=autocast, aggregation=aggregation,
                                name=name or naming.unique_name("variable"),
                                constraint=constraints.get(constraint))
        variable.regularizer = _get_regularizer(regularizer)
        variable.overwrite_with_gradient = overwrite_with_gradient
        self._tracker.add("variables", variable)
        return variable

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Keras 3's alias of `add_weight`, with shape and initializer required."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    # ----------------------------------------------------------------------------- dtypes
    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        policy = dtype_policies.get(value)
        if policy.quantization_mode is not None and self.built and \
                getattr(self, "_quantized_mode", None) is None:
            # A quantized policy on a built float layer quantizes it first (as in Keras), so
            # its weights always match its policy (and a refusal changes nothing).
            block_size = getattr(policy, "block_size", None)
            self.quantize(policy.quantization_mode, config=None if block_size is None else
                          Int4QuantizationConfig(block_size=block_size))
        if isinstance(self._dtype_policy, dtype_policies.DTypePolicyMap) and self.path:
            # A map shared by a block and its sublayers: this layer's entry changes (Keras).
            if self.path in self._dtype_policy:
                del self._dtype_policy[self.path]
            self._dtype_policy[self.path] = policy
        else:
            self._dtype_policy = policy
        self._mark_changed()  # compiled calls traced under the old dtypes are stale

    def _policy(self):
        """The layer's own policy: its entry in a `DTypePolicyMap`, else `dtype_policy`."""
        policy = self._dtype_policy
        if isinstance(policy, dtype_policies.DTypePolicyMap) and self.path:
            return policy[self.path]
        return policy

    @property
    def dtype(self):
        """The dtype of the layer's weights (`variable_dtype`)."""
        return self._policy().variable_dtype

    @property
    def compute_dtype(self):
        """The dtype the layer computes in: its inputs are cast to it and its float weights
        read as it inside `call` (bfloat16 under `"mixed_bfloat16"`)."""
        return self._policy().compute_dtype

    @property
    def variable_dtype(self):
        """The dtype the layer creates its weights in (float32 under a mixed policy)."""
        return self._policy().variable_dtype

    @property
    def quantization_mode(self):
        """The layer's quantization mode (`"int8"`, `"int4"`, `"float8"`), None if not quantized."""
        return self._policy().quantization_mode

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the layer's weights; Dense, EinsumDense and Embedding implement it (see
        `keras.quantizers`). Other layers raise NotImplementedError, as in Keras."""
        config = validate_and_resolve_config(mode, config)
        raise NotImplementedError(
            f"Layer {type(self).__name__} ('{self.name}') does not support quantize() (mode "
            f"'{config.mode}'): lamina quantizes Dense, EinsumDense and Embedding layers, as "
            "Keras 3 does. model.quantize() skips this layer with a warning; its filters= "
            "argument chooses the layers to quantize.")

    @property
    def input_dtype(self):
        return self.compute_dtype

    def _autocast_scope(self):
        """The autocast scope `call` runs in (Keras's rule).

        Outside any scope, a layer whose compute and variable dtypes differ opens one in its
        compute dtype, so its float weights read as bfloat16 (or float16) in `call`. Inside
        one (a layer nested in a mixed-precision layer or model), a layer with another compute
        dtype replaces it (a float32 layer reads float32), and a layer with `autocast=False`
        or a non-float compute dtype turns it off. Float32 layers outside any scope open
        nothing: a float32 model traces exactly as without mixed precision.

        One deliberate difference: Keras opens the scope for a top-level mixed layer even with
        `autocast=False` (and clears it for the same layer when nested); here `autocast=False`
        means no cast in both places. Keras's own `autocast=False` layers (LayerNormalization,
        GroupNormalization, Embedding) compute the same either way.
        """
        current = autocast_dtype()
        policy = self._dtype_policy
        if current is None and type(policy) in _PLAIN_POLICIES and \
                policy.compute_dtype == policy.variable_dtype:
            return _NO_SCOPE  # the common case, kept cheap: it runs on every call
        policy = self._policy()
        compute = policy.compute_dtype
        if not self.autocast:
            return _NO_SCOPE if current is None else AutocastScope(None)
        if current is None:
            if compute == policy.variable_dtype:
                return _NO_SCOPE
            return AutocastScope(compute)
        if not compute.startswith(("float", "bfloat")):
            return AutocastScope(None)
        if compute != current:
            return AutocastScope(compute)
        return _NO_SCOPE

    # ----------------------------------------------------------------------------- building
    def build(self, input_shape):
        """Creates the layer's weights. Called once, lazily, before the first `call`.

        The default builds the sublayers of a layer that did not override `build` by running
        `call` once on an abstract input of this shape (no computation), so that their weights
        exist right after `build` (and `summary()` and weight loading can see them).
        """
        if type(self).build is Layer.build and self._layers and not self.built:
            self._build_by_run(input_shape)
        self.built = True

    def _build_by_run(self, input_shape):
        if not _is_single_shape(tuple(input_shape) if isinstance(input_shape, (list, tuple))
                                else None) and not isinstance(input_shape, (dict, list)):
            return
        if len([p for p in self._call_signature.parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) != 1:
            return  # several tensor arguments: sublayers build lazily on the first real call

        def to_tensor(shape):
            return symbolic.KerasTensor(shape, dtype=self.compute_dtype)

        inputs = jax.tree_util.tree_map(to_tensor, input_shape, is_leaf=_is_single_shape)
        self.built = True  # so the traced call does not try to build again
        try:
            symbolic.trace_output_spec(lambda x: self._call((x,), {}), (inputs,), {})
        except Exception:
            self.built = False
            raise

    def get_build_config(self):
        """What `build_from_config` needs to recreate the weights (Keras 3's format)."""
        if self._build_shapes is None:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config):
        if config and not self.built:
            shape = config.get("input_shape")
            if shape is not None:
                with self._name_scope():
                    self.build(symbolic.to_shape_tuple(_lists_to_tuples(shape)))
                self._build_shapes = _lists_to_tuples(shape)
                self.built = True
            elif "shapes_dict" in config:
                with self._name_scope():
                    self.build(**{k: symbolic.to_shape_tuple(_lists_to_tuples(v))
                                  for k, v in config["shapes_dict"].items()})
                self.built = True

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = args[0] if args else next(iter(kwargs.values()), None)
        shapes = jax.tree_util.tree_map(
            lambda x: symbolic.shape_of(x) if hasattr(x, "shape") else None, first,
            is_leaf=lambda x: hasattr(x, "shape"))
        if _is_single_shape(shapes):
            build_shape = symbolic.to_shape_tuple(shapes)
        else:
            build_shape = jax.tree_util.tree_map(
                symbolic.to_shape_tuple, shapes, is_leaf=_is_single_shape)
        with self._name_scope():
            self.build(build_shape)
        self._build_shapes = _shapes_for_config(shapes)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    # ----------------------------------------------------------------------------- masking
    @property
    def supports_masking(self):
        """Whether the layer passes masks on (True by default for a layer that defines
        `compute_mask`): its outputs carry `compute_mask(inputs, mask)`. A layer that does not
        support masking and receives a mask warns that the mask is lost, as in Keras."""
        return self._supports_masking

    @supports_masking.setter
    def supports_masking(self, value):
        object.__setattr__(self, "_supports_masking", bool(value))
        if "_version" in self.__dict__:
            self._mark_changed()  # traced calls attached (or dropped) masks by the old value

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs, given the inputs and their mask: by default the input's
        mask, unchanged (for layers that keep the positions of their input)."""
        return previous_mask

    # ----------------------------------------------------------------------------- calling
    def call(self, *args, **kwargs):
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not define call(). Subclasses of Layer must "
            "implement call(self, inputs) (and usually build(self, input_shape)).")

    @filter_traceback  # an error in call() shows the user's frames, not lamina's
    def __call__(self, *args, **kwargs):
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        if (self._compile_eager_calls and self.built and not getattr(self, "run_eagerly", False)
                and current_scope() is None and _call_context.get() is None
                and not has_tracers((args, kwargs))):
            return self._compiled_eager_call(self._convert_inputs(args, on_host=True), kwargs)
        return self._call(self._convert_inputs(args), kwargs)

    def _call(self, args, kwargs):
        context = _call_context.get()
        token = None
        if context is None:
            for layer in self._flatten_layers():
                layer._losses.clear()
            context = _CallContext(self, None)
            token = _call_context.set(context)
        try:
            if args:
                assert_input_compatibility(self.input_spec, args[0], self.name)
            self._maybe_build(args, kwargs)
            training = kwargs.pop("training", None)
            if training is None:
                training = context.training
            if training is None and self._call_takes_training:
                default = self._call_signature.parameters["training"].default
                if default is not inspect.Parameter.empty:
                    training = default
            if self._call_takes_training:
                kwargs["training"] = training
            elif self._call_takes_var_kwargs and training is not None:
                kwargs["training"] = training
            previous_mask = _masking.populate_masks(self, args, kwargs) \
                if self._mask_plumbing else None
            outer_training = context.training
            if training is not None:
                context.training = training
            try:
                with self._name_scope(), self._autocast_scope():
                    call = self.call if self._remat_mode is None else \
                        rematerialized_call(self)  # created in a RematScope (_remat.py)
                    outputs = call(*args, **kwargs)
            except Exception as error:
                _add_layer_context(error, self, args)
                raise
            finally:
                context.training = outer_training
            if self._mask_plumbing:
                _masking.attach_output_masks(
                    self, _masking.first_argument(self, args, kwargs), outputs, previous_mask)
            object.__setattr__(self, "_seen_output_shape", _output_shapes(outputs))
            if self.activity_regularizer is not None:
                for output in jax.tree_util.tree_leaves(outputs):
                    penalty = self.activity_regularizer(output)
                    if jnp.ndim(output) > 0:
                        penalty = penalty / jnp.asarray(jnp.shape(output)[0], penalty.dtype)
                    self.add_loss(penalty)
            return outputs
        finally:
            if token is not None:
                _call_context.reset(token)

    def _convert_inputs(self, args, on_host=False):
        """NumPy arrays and nested number lists become JAX arrays; floating inputs are cast to
        the compute dtype (Keras's autocast).

        With `on_host` (inputs bound for a compiled program), host data stays NumPy: a private
        host copy, cast on the host, which `jax.jit` moves to the device itself for a few
        microseconds, where an explicit `device_put` costs about 70 (most of a one-row
        `predict`). The copy matters: on CPU, jit may read a NumPy argument in place while
        the call runs asynchronously, so the caller's own array must not be passed in.
        """
        compute_dtype = self.compute_dtype
        autocast = self.autocast
        if len(args) == 1 and isinstance(args[0], jax.Array) and not (
                autocast and args[0].dtype != compute_dtype
                and jnp.issubdtype(args[0].dtype, jnp.floating)):
            return args  # the common case, kept cheap

        def convert(x):
            source = x
            if isinstance(x, Variable):
                x = x.value
            elif isinstance(x, (np.ndarray, np.generic)) or _is_number_list(x):
                if on_host:
                    return _masking.keep_mask(
                        source, host_copy(x, float_dtype=compute_dtype if autocast else None))
                x = to_device(x)
            if autocast and isinstance(x, jax.Array) and x.dtype != compute_dtype and \
                    jnp.issubdtype(x.dtype, jnp.floating):
                x = x.astype(compute_dtype)
            return _masking.keep_mask(source, x)  # a cast input keeps its mask (Keras)

        return tuple(jax.tree_util.tree_map(
            convert, list(args), is_leaf=lambda x: isinstance(x, Variable) or _is_number_list(x)))

    def _compiled_eager_call(self, args, kwargs):
        if "mask" in self._call_mask_parameters and kwargs.get("mask") is None and \
                len(args) == 1:
            masks = _masking.masks_of(args[0])  # masks enter the program as arguments
            if _masking.has_mask(masks):
                kwargs = {**kwargs, "mask": masks}
        outputs, losses, masks = self._call_compiled(
            "call", self._forward_with_losses, *args, **kwargs)
        for layer in self._flatten_layers():
            layer._losses.clear()
        self._losses.extend((loss, None) for loss in losses)
        if masks:  # `model(x)._keras_mask`, as in eager Keras
            flat = _masking.flatten(outputs)
            for index, mask in masks:
                set_keras_mask(flat[index], mask)
        return outputs

    def _forward_with_losses(self, *args, **kwargs):
        outputs = self._call(args, kwargs)
        masks = tuple((index, mask) for index, output in enumerate(_masking.flatten(outputs))
                      if (mask := get_keras_mask(output)) is not None)
        return outputs, self._collect_added_losses(), masks

    def _symbolic_call(self, args, kwargs):
        if args:
            assert_input_compatibility(self.input_spec, args[0], self.name)
        self._maybe_build(args, kwargs)
        recorded = kwargs
        if self._mask_plumbing:
            # The node records what Keras 3's would, so configs match: the arguments filled in
            # below (`training`'s default, `mask`) join it only when Keras's input conversion
            # kept the caller's dict (one symbolic argument of the layer's input dtype, no
            # keywords), or always for a functional model.
            if self._convert_input_args and (
                    kwargs or len(args) != 1 or not symbolic.is_symbolic(args[0])
                    or args[0].dtype != self.input_dtype):
                kwargs = dict(kwargs)
            self._fill_in_training(kwargs)
            previous_mask = _masking.populate_masks(self, args, kwargs)
        outputs = self.compute_output_spec(*args, **kwargs)
        if self._mask_plumbing:
            _masking.attach_output_masks(
                self, _masking.first_argument(self, args, kwargs), outputs, previous_mask)
        symbolic.Node(self, args, recorded, outputs)
        return outputs

    def _fill_in_training(self, kwargs):
        """Keras 3.15's `training` for a symbolic call: the one passed, else the enclosing
        call's, else the default of `call`'s signature."""
        if "training" in kwargs or not self._call_takes_training:
            return
        context = _call_context.get()
        value = context.training if context is not None else None
        if value is None:
            default = self._call_signature.parameters["training"].default
            value = None if default is inspect.Parameter.empty else default
        if value is not None:
            kwargs["training"] = value

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs for symbolic inputs: from `compute_output_shape` when the layer
        defines it, else by tracing `call` without computing anything."""
        if type(self).compute_output_shape is not Layer.compute_output_shape and len(args) == 1:
            shapes = jax.tree_util.tree_map(
                lambda x: x.shape, args[0], is_leaf=symbolic.is_symbolic)
            if _is_single_shape(shapes):
                shapes = symbolic.to_shape_tuple(shapes)
            output_shape = self.compute_output_shape(shapes)
            return _shapes_to_tensors(output_shape, self.compute_dtype)
        return symbolic.trace_output_spec(
            lambda *a, **k: self._call(a, dict(k)), args, kwargs)

    def compute_output_shape(self, *args, **kwargs):
        """The output shape for an input shape; the default traces `call` to find it."""
        def to_tensor(shape):
            return symbolic.KerasTensor(shape, dtype=self.compute_dtype)

        tensors = [jax.tree_util.tree_map(to_tensor, a, is_leaf=_is_single_shape) for a in args]
        if not self.built:
            self._maybe_build(tuple(tensors), {})
        spec = symbolic.trace_output_spec(lambda *a: self._call(a, {}), tuple(tensors), {})
        return jax.tree_util.tree_map(lambda t: t.shape, spec, is_leaf=symbolic.is_symbolic)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses=False, **kwargs):
        """Calls the layer as a pure function of the given variable values.

        Returns `(outputs, non_trainable_variables)` with the updated non-trainable values
        (and, when `return_losses=True`, the losses: those added by the call, as added, then
        the weights' regularization penalties computed on the given values), leaving the
        layer's Variables untouched: safe inside `jax.jit` and `jax.grad`.
        """
        variables = self.trainable_variables + self.non_trainable_variables
        values = list(trainable_variables) + list(non_trainable_variables)
        if len(values) != len(variables):
            raise ValueError(
                f"stateless_call on layer '{self.name}': expected "
                f"{len(self.trainable_variables)} trainable and "
                f"{len(self.non_trainable_variables)} non-trainable values, received "
                f"{len(trainable_variables)} and {len(non_trainable_variables)}.")

        def run():
            outputs = self._call(args, dict(kwargs))
            return outputs, self._collect_added_losses() + self._regularization_losses()

        (outputs, losses), new_values = run_pure(variables, values, run)
        new_non_trainable = list(new_values[len(self.trainable_variables):])
        if return_losses:
            return outputs, new_non_trainable, losses
        return outputs, new_non_trainable

    # ----------------------------------------------------------------------------- losses
    def add_loss(self, loss):
        """Adds a loss (a scalar, or an array that is summed) computed in `call`.

        Added losses count for the last call only; `losses` returns them with the weights'
        regularization penalties, and training adds them to the main loss.
        """
        if callable(loss) and not isinstance(loss, (jax.Array, Variable)):
            loss = loss()
        self._losses.append((jnp.asarray(loss), current_scope()))

    def _collect_added_losses(self):
        losses = []
        for layer in self._flatten_layers():
            losses.extend(value for value, scope in layer._losses if _scope_is_live(scope))
        return losses

    @property
    def losses(self):
        """Losses added in the last call, then the regularization penalties of the weights."""
        return ([jnp.sum(loss) for loss in self._collect_added_losses()]
                + self._regularization_losses())

    def _regularization_losses(self):
        return [variable.regularizer(variable) for variable in self.trainable_weights
                if variable.regularizer is not None]

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        """The constructor arguments: automatic when they are plain values, else override."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self._dtype_policy),
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None and type(self).__name__ != "InputLayer":
            config["batch_input_shape"] = self._batch_input_shape
        if self._init_arguments is None or _overrides(
                type(self), "get_config", self._automatic_config_base):
            return config
        return {**config, **self._init_arguments}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            try:
                config["dtype"] = dtype_policies.get(config["dtype"])
            except ValueError as error:
                raise ValueError(f"Layer '{config.get('name')}' ({cls.__name__}), config key "
                                 f"'dtype': {error}") from None
        try:
            return cls(**config)
        except serialization.DeserializationError:
            raise  # a nested object's config was refused: its message says which and why
        except TypeError as error:
            accepted = [name for name in inspect.signature(cls.__init__).parameters
                        if name != "self"]
            raise TypeError(
                f"Could not recreate layer {cls.__name__} from its config: {error}. Its "
                f"constructor accepts {accepted}; the config has {sorted(config)}. If the "
                "layer's get_config() adds keys, its __init__ must accept them (or take "
                "**kwargs and pass them to super().__init__).") from error

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    @property
    def path(self):
        return self.name

    @property
    def input(self):
        """The symbolic input of the layer's first call on symbolic tensors."""
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input, so it has no "
                "`input`. Call it on keras.Input(...) first.")
        node = self._inbound_nodes[0]
        tensors = node.input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input, so it has no "
                "`output`. Call it on keras.Input(...) first.")
        return self._inbound_nodes[0].outputs


# Layer.get_config adds the recorded constructor arguments unless a class below this one
# overrides get_config (a class whose own get_config calls Layer's names itself instead).
Layer._automatic_config_base = Layer


def _scope_is_live(scope):
    if scope is None:
        return True
    current = current_scope()
    while current is not None:
        if current is scope:
            return True
        current = current.parent
    return False


def _output_shapes(outputs):
    """Shapes of a call's outputs, kept for `summary()` of models that are not graphs."""
    if hasattr(outputs, "shape"):
        return tuple(outputs.shape)
    if isinstance(outputs, (list, tuple)):
        return [_output_shapes(o) for o in outputs]
    if isinstance(outputs, dict):
        return {k: _output_shapes(v) for k, v in outputs.items()}
    return None


def _is_number_list(value):
    if not isinstance(value, list) or not value:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) or _is_number_list(v)
               for v in value)


def _is_single_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                            for d in value)


def _lists_to_tuples(shape):
    if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return type(shape)(_lists_to_tuples(s) for s in shape) if isinstance(shape, list) \
            else tuple(_lists_to_tuples(s) for s in shape)
    if isinstance(shape, dict):
        return {k: _lists_to_tuples(v) for k, v in shape.items()}
    return shape


def _shapes_for_config(shapes):
    if _is_single_shape(shapes):
        return tuple(shapes)
    if isinstance(shapes, (list, tuple)):
        return [_shapes_for_config(s) for s in shapes]
    if isinstance(shapes, dict):
        return {k: _shapes_for_config(v) for k, v in shapes.items()}
    return shapes


def _shapes_to_tensors(shape, dtype):
    if hasattr(shape, "as_list") or _is_single_shape(tuple(shape) if isinstance(
            shape, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer))
                                          for d in shape) else None):
        return symbolic.KerasTensor(symbolic.as_shape_tuple(shape), dtype=dtype)
    if isinstance(shape, dict):
        return {k: _shapes_to_tensors(v, dtype) for k, v in shape.items()}
    return [_shapes_to_tensors(s, dtype) for s in shape]


def _overrides(cls, method, base):
    """Whether a class between `cls` and `base` (excluded) defines `method`."""
    for klass in cls.__mro__:
        if klass is base:
            return False
        if method in klass.__dict__:
            return True
    return False


def _get_regularizer(identifier):
    if identifier is None:
        return None
    return regularizers.get(identifier)


def _describe_inputs(args):
    def describe(x):
        shape = getattr(x, "shape", None)
        if shape is None:
            return repr(x)
        return f"shape={tuple(shape)} dtype={getattr(x, 'dtype', '?')}"

    return ", ".join(describe(x) for x in jax.tree_util.tree_leaves(
        list(args), is_leaf=lambda x: hasattr(x, "shape")))


def _add_layer_context(error, layer, args):
    """Adds the layer, its input shapes and the shapes it was built for to an error from call."""
    if getattr(error, "_lamina_layer_context", False) or type(error).__module__.startswith(
            "lamina._runtime"):
        return
    built_for = f" (built for input shape {layer._build_shapes})" if layer._build_shapes else ""
    note = (f"Raised while calling layer '{layer.name}' ({type(layer).__name__}){built_for} on "
            f"inputs: {_describe_inputs(args)}.")
    try:
        error._lamina_layer_context = True
    except AttributeError:
        pass
    if error.args and isinstance(error.args[0], str) and type(error) in (
            ValueError, TypeError, IndexError, KeyError, RuntimeError, NotImplementedError):
        error.args = (f"{error.args[0]}\n{note}",) + error.args[1:]
    else:
        error.add_note(note)


def is_layer(value):
    return isinstance(value, Layer)


__all__ = ["Layer"]
