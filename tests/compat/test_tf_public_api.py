"""Pins the public names of `lamina.compat.tf` and its namespaces, so a rename fails CI.

Their docstrings and examples are checked by tests/test_public_docstrings.py."""

from lamina.compat import tf

TOP_LEVEL = [
    'DType', 'GradientTape', 'Tensor', 'TensorShape', 'TensorSpec', 'Variable',
    'VariableAggregation', 'VariableSynchronization', 'abs', 'add', 'add_n', 'argmax',
    'argmin', 'argsort', 'as_dtype', 'bfloat16', 'bool', 'boolean_mask', 'broadcast_to',
    'cast', 'ceil', 'clip_by_norm', 'clip_by_value', 'complex128', 'complex64', 'concat',
    'constant', 'convert_to_tensor', 'cos', 'cumsum', 'custom_gradient', 'divide', 'double',
    'dtypes', 'einsum', 'equal', 'exp', 'expand_dims', 'eye', 'fill', 'float16', 'float32',
    'float64', 'floor', 'function', 'gather', 'greater', 'greater_equal', 'half', 'identity',
    'int16', 'int32', 'int64', 'int8', 'is_tensor', 'less', 'less_equal', 'linalg', 'linspace',
    'log', 'logical_and', 'logical_not', 'logical_or', 'math', 'matmul', 'maximum', 'minimum',
    'multiply', 'negative', 'newaxis', 'nn', 'norm', 'not_equal', 'one_hot', 'ones',
    'ones_like', 'pad', 'pow', 'print', 'random', 'range', 'rank', 'reduce_all', 'reduce_any',
    'reduce_logsumexp', 'reduce_max', 'reduce_mean', 'reduce_min', 'reduce_prod', 'reduce_sum',
    'reshape', 'reverse', 'round', 'shape', 'sigmoid', 'sign', 'sin', 'size', 'sort', 'split',
    'sqrt', 'square', 'squeeze', 'stack', 'stop_gradient', 'subtract', 'tanh', 'tensordot',
    'tile', 'transpose', 'truediv', 'uint16', 'uint32', 'uint64', 'uint8', 'unstack', 'where',
    'zeros', 'zeros_like'
]
MATH = [
    'abs', 'add', 'add_n', 'argmax', 'argmin', 'ceil', 'confusion_matrix', 'cos',
    'count_nonzero', 'cumprod', 'cumsum', 'divide', 'divide_no_nan', 'equal', 'erf', 'exp',
    'expm1', 'floor', 'floordiv', 'floormod', 'greater', 'greater_equal', 'in_top_k',
    'is_finite', 'is_inf', 'is_nan', 'l2_normalize', 'less', 'less_equal', 'log', 'log1p',
    'log_sigmoid', 'log_softmax', 'logical_and', 'logical_not', 'logical_or', 'logical_xor',
    'maximum', 'minimum', 'multiply', 'multiply_no_nan', 'negative', 'not_equal', 'pow',
    'reciprocal', 'reduce_all', 'reduce_any', 'reduce_euclidean_norm', 'reduce_logsumexp',
    'reduce_max', 'reduce_mean', 'reduce_min', 'reduce_prod', 'reduce_std', 'reduce_sum',
    'reduce_variance', 'round', 'rsqrt', 'segment_sum', 'sigmoid', 'sign', 'sin', 'softmax',
    'softplus', 'softsign', 'sqrt', 'square', 'squared_difference', 'subtract', 'tanh',
    'top_k', 'truediv', 'unsorted_segment_sum'
]
NN = [
    'avg_pool', 'avg_pool2d', 'batch_normalization', 'bias_add', 'conv1d', 'conv2d', 'dropout',
    'elu', 'embedding_lookup', 'gelu', 'l2_loss', 'l2_normalize', 'leaky_relu', 'log_softmax',
    'max_pool', 'max_pool2d', 'moments', 'relu', 'relu6', 'selu', 'sigmoid',
    'sigmoid_cross_entropy_with_logits', 'silu', 'softmax',
    'softmax_cross_entropy_with_logits', 'softplus', 'softsign',
    'sparse_softmax_cross_entropy_with_logits', 'swish', 'tanh', 'top_k'
]
LINALG = [
    'cholesky', 'det', 'diag', 'diag_part', 'einsum', 'eye', 'inv', 'l2_normalize', 'matmul',
    'matrix_transpose', 'norm', 'solve', 'tensordot', 'trace'
]
RANDOM = [
    'categorical', 'normal', 'set_seed', 'shuffle', 'truncated_normal', 'uniform'
]
DTYPES = [
    'DType', 'as_dtype', 'bfloat16', 'bool', 'cast', 'complex128', 'complex64', 'double',
    'float16', 'float32', 'float64', 'half', 'int16', 'int32', 'int64', 'int8', 'uint16',
    'uint32', 'uint64', 'uint8'
]


def _public(namespace):
    return sorted(name for name in dir(namespace) if not name.startswith("_"))


def test_top_level_names():
    assert _public(tf) == TOP_LEVEL
    assert tf.__all__ == TOP_LEVEL


def test_namespace_names():
    for namespace, expected in [(tf.math, MATH), (tf.nn, NN), (tf.linalg, LINALG),
                                (tf.random, RANDOM), (tf.dtypes, DTYPES)]:
        assert _public(namespace) == expected, namespace.__name__
        assert namespace.__all__ == expected


def test_shared_names_are_the_same_objects():
    assert tf.math.reduce_sum is tf.reduce_sum and tf.nn.sigmoid is tf.sigmoid
    assert tf.linalg.matmul is tf.matmul and tf.linalg.norm is tf.norm
    assert tf.nn.softmax is tf.math.softmax and tf.linalg.eye is tf.eye
