"""Loss primitives of `keras.ops.nn`: cross-entropies, CTC, and PSNR.

Probabilities (`from_logits=False`) are clipped to `[epsilon, 1 - epsilon]` before the log, as
in Keras, so that a confident wrong prediction gives a large but finite loss.
"""

import jax
import jax.numpy as jnp

from lamina._runtime import config
from lamina.ops._convert import compiled, float_tensor, tensor
from lamina.ops._symbolic import symbolic_op


def _same_shape(op, target, output):
    if target.shape != output.shape:
        raise ValueError(
            f"ops.{op} needs target and output of the same shape. Received: target shape "
            f"{target.shape}, output shape {output.shape}. For integer class labels use "
            "ops.sparse_categorical_crossentropy.")


@symbolic_op
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy between 0/1 targets and probabilities (or logits).

    Examples:
        >>> ops.binary_crossentropy([1., 0.], [0.5, 0.5])
        Array([0.6931472, 0.6931472], dtype=float32)
    """
    output = float_tensor(output)
    target = tensor(target, output.dtype)
    _same_shape("binary_crossentropy", target, output)
    return _binary_crossentropy(target, output, bool(from_logits), config.epsilon())


@compiled("from_logits", "eps")
def _binary_crossentropy(target, output, from_logits, eps):
    if from_logits:
        return -(target * jax.nn.log_sigmoid(output) + (1 - target) * jax.nn.log_sigmoid(-output))
    output = jnp.clip(output, eps, 1 - eps)
    return -(target * jnp.log(output) + (1 - target) * jnp.log(1 - output))


@compiled("from_logits", "axis", "eps")
def _categorical_crossentropy(target, output, from_logits, axis, eps):
    if from_logits:
        log_probabilities = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        log_probabilities = jnp.log(jnp.clip(output, eps, 1 - eps))
    return -jnp.sum(target * log_probabilities, axis=axis)


@symbolic_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and class probabilities (or logits).

    Examples:
        >>> ops.categorical_crossentropy([[0., 1.]], [[0.5, 0.5]])
        Array([0.6931472], dtype=float32)
    """
    output = float_tensor(output)
    target = tensor(target, output.dtype)
    _same_shape("categorical_crossentropy", target, output)
    if output.ndim < 1:
        raise ValueError("ops.categorical_crossentropy needs inputs of rank 1 or more. "
                         "Received scalars.")
    return _categorical_crossentropy(target, output, bool(from_logits), axis, config.epsilon())


@symbolic_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class labels and class probabilities (or logits).

    Examples:
        >>> ops.sparse_categorical_crossentropy([1], [[0.5, 0.5]])
        Array([0.6931472], dtype=float32)
    """
    output = float_tensor(output)
    target = tensor(target, "int32")
    if output.ndim < 1:
        raise ValueError("ops.sparse_categorical_crossentropy needs output of rank 1 or more. "
                         "Received a scalar.")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if target.shape != output.shape[:-1]:
        raise ValueError(
            "ops.sparse_categorical_crossentropy needs one integer label per row of output: "
            f"target shape {output.shape[:-1]} for output shape {output.shape}. Received: "
            f"target shape {target.shape}. For one-hot targets use "
            "ops.categorical_crossentropy.")
    return _sparse_categorical_crossentropy(target, output, bool(from_logits), axis,
                                            config.epsilon())


@compiled("from_logits", "axis", "eps")
def _sparse_categorical_crossentropy(target, output, from_logits, axis, eps):
    one_hot = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=output.dtype)
    return _categorical_crossentropy(one_hot, output, from_logits, axis, eps)


@symbolic_op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio, in dB: `20 log10(max_val) - 10 log10(mse)`.

    Examples:
        >>> ops.psnr([0., 1.], [0., 0.], max_val=1.)
        Array(3.0103002, dtype=float32)
    """
    x1, x2 = float_tensor(x1), float_tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(
            f"ops.psnr needs inputs of the same shape. Received: {x1.shape} and {x2.shape}.")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20 * jnp.log10(tensor(max_val, x2.dtype)) - 10 * jnp.log10(mse)


# ------------------------------------------------------------------------------- CTC

# Stands for log(0): finite, so that gradients through impossible paths stay finite.
_LOG_ZERO = -1e5


@symbolic_op
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss, per sequence.

    `target` is `(batch, max_label_length)` integer labels, `output` is
    `(batch, max_time, num_classes)` logits; `mask_index` is the blank class.

    Examples:
        >>> loss = ops.ctc_loss([[1]], ops.zeros((1, 2, 2)), [1], [2])
        >>> round(float(loss[0]), 4)
        0.2877
    """
    output = float_tensor(output)
    output = output.astype(jnp.promote_types(output.dtype, jnp.float32))
    target = tensor(target, "int32")
    target_length = tensor(target_length, "int32")
    output_length = tensor(output_length, "int32")
    if output.ndim != 3 or target.ndim != 2 or target.shape[0] != output.shape[0]:
        raise ValueError(
            "ops.ctc_loss takes target of shape (batch, max_label_length) and output of "
            f"shape (batch, max_time, num_classes). Received: target {target.shape}, output "
            f"{output.shape}.")
    return _ctc_loss(target, output, target_length, output_length, int(mask_index))


@compiled("mask_index")
def _ctc_loss(target, output, target_length, output_length, mask_index):
    batch, time, _ = output.shape
    labels = target.shape[1]
    log_probs = jax.nn.log_softmax(output, axis=-1)

    # The extended label sequence: blank, l1, blank, l2, ..., blank (2 * labels + 1 states).
    states = 2 * labels + 1
    extended = jnp.full((batch, states), mask_index, jnp.int32).at[:, 1::2].set(target)
    # A state may skip the blank before it when it is a label different from the label two
    # states back.
    previous = jnp.pad(extended, ((0, 0), (2, 0)), constant_values=mask_index)[:, :-2]
    can_skip = (extended != mask_index) & (extended != previous)
    # Per step, the log-probability of the symbol of each state: (time, batch, states).
    emissions = jnp.take_along_axis(log_probs, extended[:, None, :], axis=-1)
    emissions = jnp.moveaxis(emissions, 1, 0)

    neg = jnp.asarray(_LOG_ZERO, output.dtype)
    alpha = jnp.full((batch, states), neg).at[:, :2].set(emissions[0, :, :2])

    def step(alpha, inputs):
        emission, active = inputs
        stay = alpha
        advance = jnp.pad(alpha, ((0, 0), (1, 0)), constant_values=_LOG_ZERO)[:, :-1]
        skip = jnp.pad(alpha, ((0, 0), (2, 0)), constant_values=_LOG_ZERO)[:, :-2]
        skip = jnp.where(can_skip, skip, neg)
        combined = jax.nn.logsumexp(jnp.stack([stay, advance, skip]), axis=0) + emission
        return jnp.where(active[:, None], combined, alpha), None

    active = jnp.arange(1, time)[:, None] < output_length[None, :]
    alpha, _ = jax.lax.scan(step, alpha, (emissions[1:], active))
    # A path ends in the last label or in the blank after it.
    last_blank = jnp.take_along_axis(alpha, (2 * target_length)[:, None], axis=1)[:, 0]
    last_label = jnp.take_along_axis(
        alpha, jnp.maximum(2 * target_length - 1, 0)[:, None], axis=1)[:, 0]
    last_label = jnp.where(target_length > 0, last_label, neg)
    return -jnp.logaddexp(last_blank, last_label)


@symbolic_op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes CTC outputs greedily: best class per step, repeats merged, blanks removed.

    Returns `(decoded, scores)`: decoded is `(top_paths, batch, max_time)` class ids padded
    with -1, scores is `(batch, top_paths)` negative summed best logits.

    Examples:
        >>> logits = ops.convert_to_tensor(
        ...     [[[0., 5., 0.], [0., 5., 0.], [5., 0., 0.], [0., 0., 5.]]])
        >>> decoded, scores = ops.ctc_decode(logits, [4])
        >>> decoded
        Array([[[ 1,  2, -1, -1]]], dtype=int32)
    """
    if strategy == "beam_search":
        raise NotImplementedError(
            "lamina.ops.ctc_decode implements strategy='greedy' only. Beam search decoding "
            "is not available; use strategy='greedy'.")
    if strategy != "greedy":
        raise ValueError(
            f"ops.ctc_decode takes strategy 'greedy' or 'beam_search'. Received: "
            f"strategy={strategy!r}")
    inputs = float_tensor(inputs)
    inputs = inputs.astype(jnp.promote_types(inputs.dtype, jnp.float32))
    if inputs.ndim != 3:
        raise ValueError(
            "ops.ctc_decode takes inputs of shape (batch, max_time, num_classes). Received: "
            f"shape {inputs.shape}.")
    return _ctc_greedy_decode(inputs, tensor(sequence_lengths, "int32"), bool(merge_repeated),
                              int(mask_index))


@compiled("merge_repeated", "mask_index")
def _ctc_greedy_decode(inputs, sequence_lengths, merge_repeated, mask_index):
    time = inputs.shape[1]
    best = jnp.argmax(inputs, axis=-1).astype(jnp.int32)
    scores = jnp.max(inputs, axis=-1)
    beyond = jnp.arange(time)[None, :] >= sequence_lengths[:, None]
    best = jnp.where(beyond, mask_index, best)
    scores = jnp.where(beyond, 0.0, scores)
    if merge_repeated:
        repeated = jnp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0)))
        best = jnp.where(repeated, mask_index, best)
    keep = best != mask_index
    # Move kept labels to the front in order (a stable sort on "not kept").
    order = jnp.argsort(~keep, axis=-1, stable=True)
    decoded = jnp.where(jnp.take_along_axis(keep, order, axis=-1),
                        jnp.take_along_axis(best, order, axis=-1), -1)
    return decoded[None], -jnp.sum(scores, axis=1, keepdims=True)
