"""Core layers: InputLayer, Dense, EinsumDense, Embedding, Masking, Identity, Activation."""

import re

import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina import activations, constraints, initializers, ops, regularizers
from lamina._runtime import config
from lamina._runtime.masking import set_keras_mask
from lamina._runtime.dtypes import standardize_dtype
from lamina.layers._quantized import (QuantizedDense, QuantizedEinsumDense, QuantizedEmbedding,
                                      deserialize_config)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor, Node


class InputLayer(Layer):
    """The entry point of a model: holds the symbolic input made by `keras.Input`.

    Args:
        shape: the shape of one sample (without the batch axis).
        batch_size: a fixed batch size, or None.
        dtype: the input dtype.
        sparse: accepted for Keras compatibility (lamina inputs are dense).
        ragged: accepted for Keras compatibility; must be false (Keras supports ragged
            inputs on TensorFlow only).
        batch_shape: the full shape with the batch axis (instead of `shape`/`batch_size`).
        input_tensor: an existing KerasTensor to wrap.
        optional: whether the input may be None.
        name: the layer name (the input's name).

    Examples:
        >>> inputs = lamina.layers.InputLayer(shape=(3,))
        >>> model = lamina.Sequential([inputs, lamina.layers.Dense(2)])
        >>> model.output_shape, type(model.layers[0]).__name__   # the input is not in model.layers
        ((None, 2), 'Dense')
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        kwargs.pop("input_shape", None) if shape is not None else None
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        # A "string" input feeds host-side text layers; the layer's own policy stays floatx.
        super().__init__(name=name, dtype=None if dtype == "string" else dtype, **kwargs)
        if shape is not None and batch_shape is not None:
            raise ValueError(
                f"InputLayer '{self.name}': pass either shape= or batch_shape=, not both. "
                f"Received: shape={shape}, batch_shape={batch_shape}")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise TypeError(
                    f"InputLayer '{self.name}': input_tensor must be a KerasTensor. Received: "
                    f"{type(input_tensor).__name__}")
            batch_shape = input_tensor.shape
        elif batch_shape is None:
            if shape is None:
                raise ValueError(
                    f"InputLayer '{self.name}' needs the shape of its input: pass shape=(...) "
                    "(one sample, without the batch axis) or batch_shape=(...).")
            if batch_size is not None and not (_is_dimension(batch_size) and batch_size > 0):
                raise ValueError(
                    f"InputLayer '{self.name}': batch_size must be a positive int or None. "
                    f"Received: batch_size={batch_size!r}")
            batch_shape = (batch_size,) + _standardize_shape(self.name, "shape", shape)
        else:
            batch_shape = _standardize_shape(self.name, "batch_shape", batch_shape)
        self._batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        if ragged:
            raise ValueError(
                f"InputLayer '{self.name}': ragged inputs are not supported (Keras 3 supports "
                "them on TensorFlow only). Pad the sequences and pass ragged=False.")
        self.sparse = bool(sparse)
        self.ragged = False
        self.optional = optional
        # floatx, not the global policy's compute dtype: under "mixed_bfloat16" a model's
        # inputs stay float32 and each layer casts them (as in Keras).
        self._input_dtype = dtype if dtype is not None else config.floatx()
        if self._input_dtype != "string":
            self._input_dtype = standardize_dtype(self._input_dtype)
        if input_tensor is None:
            input_tensor = KerasTensor(self._batch_shape, dtype=self._input_dtype, name=self.name)
        Node(self, (), {}, input_tensor)
        self._input_tensor = input_tensor
        self.built = True

    @property
    def batch_shape(self):
        return self._batch_shape

    def call(self):
        return self._input_tensor

    def get_config(self):
        return {"batch_shape": self._batch_shape, "dtype": self._input_dtype,
                "sparse": self.sparse, "ragged": self.ragged, "name": self.name,
                "optional": self.optional}


def _is_dimension(value):
    # ints and NumPy integers (both have __index__), not bools and not floats.
    return hasattr(value, "__index__") and not isinstance(value, bool) and \
        type(value).__name__ != "bool_"


def _standardize_shape(layer_name, argument, shape):
    """`shape` as a tuple of non-negative ints and Nones, or an error naming the argument."""
    if _is_dimension(shape):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise ValueError(
            f"InputLayer '{layer_name}': {argument} must be a tuple of dimensions (ints >= 0, "
            f"or None for any size), e.g. {argument}=(28, 28). Received: {argument}={shape!r}")
    shape = tuple(shape)
    for dim in shape:
        if dim is not None and not (_is_dimension(dim) and dim >= 0):
            raise ValueError(
                f"InputLayer '{layer_name}': every dimension of {argument} must be an int >= 0 "
                f"or None (for any size). Received: {argument}={shape!r}, with the dimension "
                f"{dim!r} ({type(dim).__name__})."
                + (" Use None for a dimension that varies." if dim == -1 else ""))
    return shape


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input for the functional API: `keras.Input(shape=(28, 28))`.

    Examples:
        >>> x = Input(shape=(3,), name="features")
        >>> x.shape
        (None, 3)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, input_tensor=tensor, optional=optional,
                       name=name)
    return layer.output


class Dense(QuantizedDense, Layer):
    """`activation(inputs @ kernel + bias)`: the densely connected layer.

    Applies to the last axis of inputs of any rank >= 2. `quantize("int8")` (or `"int4"`,
    `"float8"`) replaces the kernel by a quantized one, as Keras 3 does
    (`lamina/layers/_quantized.py`).

    Examples:
        >>> Dense(4)(jnp.ones((2, 3))).shape
        (2, 4)
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Dense '{self.name}': units must be a positive integer. Received: "
                f"units={units!r}")
        if lora_rank is not None:
            raise NotImplementedError(
                f"Dense '{self.name}': LoRA is not supported by lamina. Remove lora_rank.")
        self.quantization_config = deserialize_config(self, quantization_config)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Dense '{self.name}' needs a known last axis to create its kernel, but the "
                f"input shape is {tuple(input_shape)}. Give the input a fixed number of "
                "features.")
        mode = self._check_quantized_policy() if self.quantization_mode else None
        if mode in (None, "float8"):
            self.kernel = self.add_weight(
                name="kernel", shape=(input_dim, self.units),
                initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint)
        if mode is not None:
            self._build_quantized(mode, self._policy_block_size(self.quantization_config),
                                  (input_dim, self.units), self.quantization_config)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        if self._quantized_mode is not None:
            return self._quantized_call(inputs)
        inputs = jnp.asarray(inputs)
        # Inputs of rank > 2 are multiplied as one (rows, features) matrix: differentiated
        # through a batched matmul, the kernel's gradient contracted the rows of both operands,
        # a form XLA's CPU backend runs outside its fast GEMM library and with a transposed
        # copy of the output gradient; through a 2D product it is one plain GEMM.
        flat = inputs.reshape((-1, inputs.shape[-1])) if inputs.ndim > 2 else inputs
        outputs = jnp.matmul(flat, self.kernel.value)
        if self.bias is not None:
            outputs = outputs + self.bias.value
        if flat is not inputs:
            outputs = outputs.reshape(inputs.shape[:-1] + outputs.shape[-1:])
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": serialization.serialize_keras_object(
                self.quantization_config),
        }


def _add_trailing_bias(outputs, bias):
    """`outputs + bias`; a bias spanning the trailing output axes is added over a 2D view.

    The bias's gradient is then a sum over the rows of a matrix. Over the 4D outputs of a
    multi-head projection (`(batch, time, heads, depth)` with a `(heads, depth)` bias), XLA's
    CPU backend rewrites that sum as a padded windowed reduction, several times slower.
    """
    rows = outputs.ndim - bias.ndim
    if rows < 2 or bias.size == 0 or outputs.shape[rows:] != bias.shape:
        return outputs + bias
    flat = outputs.reshape((-1, bias.size)) + bias.reshape(-1)
    return flat.reshape(outputs.shape)


class EinsumDense(QuantizedEinsumDense, Layer):
    """A dense layer described by an einsum equation: `EinsumDense("ab,bc->ac", (64,))`.

    Args:
        equation: `"<input>,<kernel>-><output>"` in einsum notation; an ellipsis may stand
            for the input's leading axes (`"...b,bc->...c"`) or trailing ones
            (`"ab...,bc->ac..."`), which pass through to the output.
        output_shape: the output shape without the batch axis (None entries are inferred from
            the input).
        activation: applied to the result.
        bias_axes: the output letters the bias spans, or None for no bias.

    Examples:
        >>> EinsumDense("abc,cd->abd", output_shape=(None, 8))(jnp.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        super().__init__(**kwargs)
        if lora_rank is not None:
            raise ValueError(
                f"EinsumDense '{self.name}': LoRA is not supported by lamina. Remove lora_rank.")
        self.quantization_config = deserialize_config(self, quantization_config)
        self.equation = equation
        (self._input_spec_letters, self._kernel_letters, self._output_letters,
         self._elided_side) = self._parse_equation(equation)
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else \
            tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _parse_equation(self, equation):
        """(input, kernel, output) letters, "..." kept, and where the ellipsis stands: None,
        "left" (`"...b,bc->...c"`: leading input axes pass through) or "right"
        (`"ab...,bc->ac..."`: trailing ones do), the three forms Keras accepts."""
        letters = r"\s*([a-zA-Z]+)\s*"
        forms = ((None, rf"{letters},{letters}->{letters}"),
                 ("left", rf"\s*\.\.\.{letters},{letters}->\s*\.\.\.{letters}"),
                 ("right", rf"\s*([a-zA-Z]{{2,}})\.\.\.\s*,{letters}->{letters}\.\.\.\s*"))
        for side, pattern in forms:
            match = re.fullmatch(pattern, equation)
            if match is not None:
                inputs, kernel, outputs = match.groups()
                if side == "left":
                    inputs, outputs = "..." + inputs, "..." + outputs
                elif side == "right":
                    inputs, outputs = inputs + "...", outputs + "..."
                return inputs, kernel, outputs, side
        raise ValueError(
            f"EinsumDense '{self.name}': the equation must have one of the forms "
            "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...' (one input, one kernel, one "
            f"output; an ellipsis only at the start or the end of both). Received: "
            f"equation={equation!r}")

    def _spelled_out(self, rank):
        """The input and output letters for an input of `rank` axes, with the axes under the
        ellipsis given fresh letters."""
        inputs, outputs = self._input_spec_letters, self._output_letters
        if self._elided_side is None:
            return inputs, outputs
        bare = inputs.replace("...", "")
        if rank < len(bare):
            raise ValueError(
                f"EinsumDense '{self.name}': equation {self.equation!r} names {len(bare)} "
                f"input axes besides the ellipsis, but the input has rank {rank}. Pass inputs "
                f"of rank {len(bare)} or more.")
        used = set(inputs + self._kernel_letters + outputs) - {"."}
        extra = "".join(sorted(set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                               - used)[:rank - len(bare)])
        return inputs.replace("...", extra), outputs.replace("...", extra)

    def _full_output_shape(self, input_shape):
        letters_in, letters_out = self._spelled_out(len(input_shape))
        partial = self.partial_output_shape
        if self._elided_side == "left":
            # The ellipsis's axes lead the output; `output_shape` covers the named ones.
            n_free = len(letters_out) - len(self._output_letters.replace("...", ""))
        elif self._elided_side == "right":
            # The first output axis is the input's first; the ellipsis's axes trail.
            n_free = 1
            trailing = len(letters_out) - len(self._output_letters.replace("...", ""))
            partial = partial + (None,) * trailing
        else:
            n_free = len(letters_out) - len(partial)
        shape = []
        for index, letter in enumerate(letters_out):
            if index < n_free:
                shape.append(input_shape[letters_in.index(letter)])
            else:
                size = partial[index - n_free]
                if size is None and letter in letters_in:
                    size = input_shape[letters_in.index(letter)]
                shape.append(size)
        return tuple(shape)

    def build(self, input_shape):
        output_shape = self._full_output_shape(input_shape)
        letters_in, letters_out = self._spelled_out(len(input_shape))
        sizes = {}
        for letter, size in zip(letters_in, input_shape):
            sizes[letter] = size
        for letter, size in zip(letters_out, output_shape):
            sizes.setdefault(letter, size)
        kernel_shape = []
        for letter in self._kernel_letters:
            if sizes.get(letter) is None:
                raise ValueError(
                    f"EinsumDense '{self.name}': cannot infer the size of kernel axis "
                    f"'{letter}' from equation {self.equation!r}, input shape "
                    f"{tuple(input_shape)} and output_shape {self.partial_output_shape}.")
            kernel_shape.append(sizes[letter])
        self.full_output_shape = output_shape
        mode = self._check_quantized_policy() if self.quantization_mode else None
        if mode in (None, "float8"):
            self.kernel = self.add_weight(
                name="kernel", shape=tuple(kernel_shape), initializer=self._kernel_initializer(),
                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if mode is not None:
            self._build_quantized(mode, self._policy_block_size(self.quantization_config),
                                  tuple(kernel_shape), self.quantization_config)
        if self.bias_axes is not None:
            missing = [letter for letter in self.bias_axes if letter not in self._output_letters]
            if missing:
                raise ValueError(
                    f"EinsumDense '{self.name}': bias_axes {self.bias_axes!r} names "
                    f"{''.join(missing)!r}, which is not an output axis of equation "
                    f"{self.equation!r}. Use letters of the output ('{self._output_letters}').")
            first = min(letters_out.index(letter) for letter in self.bias_axes)
            bias_shape = tuple(
                output_shape[i] if letter in self.bias_axes else 1
                for i, letter in enumerate(letters_out) if i >= first)
            self.bias = self.add_weight(
                name="bias", shape=bias_shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None
        self.built = True

    def _kernel_initializer(self):
        """The kernel initializer, told which kernel axes are the einsum's inputs and which
        its outputs (Keras 3): a variance-scaling initializer then takes its fan-in and
        fan-out from them, not from the kernel's last two axes. A `(d_model, heads, key_dim)`
        query kernel has fan-in d_model and fan-out heads * key_dim."""
        initializer = self.kernel_initializer
        if not isinstance(initializer, initializers.VarianceScaling) or (
                initializer.input_axes is not None and initializer.output_axes is not None):
            return initializer
        output_axes = [i for i, letter in enumerate(self._kernel_letters)
                       if letter in self._output_letters]
        input_axes = [i for i, letter in enumerate(self._kernel_letters)
                      if letter not in self._output_letters]
        config = initializer.get_config()
        # The concrete seed: the kernel gets the values this initializer would have drawn.
        config.update(seed=initializer.seed, input_axes=input_axes, output_axes=output_axes)
        return type(initializer).from_config(config)

    def call(self, inputs):
        if self._quantized_mode is not None:
            return self._quantized_call(inputs)
        outputs = jnp.einsum(self.equation, inputs, self.kernel.value)
        if self.bias is not None:
            outputs = _add_trailing_bias(outputs, self.bias.value)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return self._full_output_shape(tuple(input_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": serialization.serialize_keras_object(
                self.quantization_config),
        }


class Embedding(QuantizedEmbedding, Layer):
    """Maps integer indices to dense vectors: `Embedding(input_dim, output_dim)`.

    With `mask_zero=True`, index 0 is padding: the outputs carry a mask (`inputs != 0`) that
    the layers downstream use (`GlobalAveragePooling1D` averages the real steps only, recurrent
    layers skip the padded ones, losses and metrics leave them out), so `input_dim` counts the
    padding index too.

    Examples:
        >>> Embedding(10, 4)(jnp.array([[1, 2, 3]])).shape
        (1, 3, 4)
        >>> Embedding(10, 4, mask_zero=True)(jnp.array([[5, 2, 0]]))._keras_mask
        Array([[ True,  True, False]], dtype=bool)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        kwargs.pop("input_length", None)  # a Keras 2 argument with no effect
        super().__init__(**kwargs)
        for key, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            # Not int(value): a config's 1.5 or "10" must not quietly build another layer.
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Embedding '{self.name}': {key} must be a positive integer. Received: "
                    f"{key}={value!r}")
        if mask_zero and input_dim == 1:
            raise ValueError(
                f"Embedding '{self.name}': mask_zero=True reserves index 0 for padding, so "
                "the vocabulary needs input_dim >= 2 (the real tokens are 1..input_dim-1). "
                f"Received: input_dim={input_dim!r}, mask_zero=True. Count the padding index "
                "in input_dim, or pass mask_zero=False.")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.quantization_config = deserialize_config(self, quantization_config)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self._initial_embeddings = weights
        # Float indices are not cast to a half type (bfloat16 cannot hold 1001); the vectors
        # are cast to the compute dtype in call instead (Keras does the same).
        self.autocast = False

    def build(self, input_shape=None):
        if self.quantization_mode:
            self._build_quantized(self._check_quantized_policy(),
                                  self._policy_block_size(self.quantization_config),
                                  (self.input_dim, self.output_dim), self.quantization_config)
            self.built = True
            return
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer, regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint)
        if self._initial_embeddings is not None:
            self.embeddings.assign(jnp.asarray(self._initial_embeddings[0]
                                               if isinstance(self._initial_embeddings, list)
                                               else self._initial_embeddings))
        self.built = True

    def call(self, inputs):
        inputs = jnp.asarray(inputs)
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype("int32")
        if self._quantized_mode is not None:
            return self._quantized_call(inputs)
        return jnp.take(self.embeddings.value, inputs, axis=0).astype(self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        """With `mask_zero=True`, `inputs != 0`: the padding index 0 marks masked steps."""
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)  # a `NotEqual` node on symbolic inputs, as in Keras

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": serialization.serialize_keras_object(
                self.quantization_config),
        }


class Masking(Layer):
    """Marks the time steps whose features all equal `mask_value` as padding.

    For inputs `(batch, timesteps, features)`, a step whose features are all `mask_value` is
    set to 0 and masked: the outputs carry a `(batch, timesteps)` mask that the layers
    downstream use (recurrent layers skip masked steps, `GlobalAveragePooling1D` averages the
    others, losses and metrics leave them out).

    Args:
        mask_value: the padding value (a number, `0.0` by default).

    Examples:
        >>> x = jnp.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
        >>> Masking()(x)._keras_mask
        Array([[ True, False,  True]], dtype=bool)
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and mask_value.get("config") is not None:
            mask_value = serialization.deserialize_keras_object(mask_value)  # a saved array
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True  # no weights; like Keras, no build config is saved

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = jnp.where(keep, inputs, jnp.zeros((), inputs.dtype))
        set_keras_mask(outputs, keep[..., 0])  # the outputs and their mask in one pass
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Identity(Layer):
    """Returns its input unchanged (a placeholder, or a named point in a model).

    Examples:
        >>> lamina.layers.Identity(name="features")(jnp.array([1.0, 2.0]))
        Array([1., 2.], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True  # no weights; like Keras, no build config is saved

    def call(self, inputs):
        return inputs

    def get_config(self):
        return super().get_config()  # Keras's keys only: name, trainable, dtype

    def compute_output_shape(self, input_shape):
        return input_shape


class Activation(Layer):
    """Applies an activation function: `Activation("relu")`.

    Examples:
        >>> Activation("relu")(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        self.built = True  # no weights; like Keras, no build config is saved

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
