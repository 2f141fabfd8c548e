"""`keras.mixed_precision`: Keras 3's legacy home of the mixed-precision names.

Mixed precision computes in float16 or bfloat16 while keeping variables in float32: set the
global policy (`set_global_policy("mixed_bfloat16")`, the same as
`keras.config.set_dtype_policy`) or pass `dtype="mixed_bfloat16"` to a layer. Layers then cast
their floating inputs to the compute dtype and read their float weights as it inside `call`;
losses compute in float32. With `"mixed_float16"`, `compile()` wraps the optimizer in a
`LossScaleOptimizer` so that small gradients do not underflow.

Examples:
    >>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3),
    ...                            lamina.layers.Dense(2, dtype="float32")])
    >>> model.layers[0](np.ones((1, 4))).dtype, model.layers[0].kernel.dtype
    (dtype(bfloat16), 'float32')
    >>> model(np.ones((1, 4))).dtype   # the last layer computes in float32
    dtype('float32')
    >>> lamina.mixed_precision.set_global_policy(None)  # back to floatx() (lamina only)
"""

from lamina.dtype_policies import DTypePolicy as DTypePolicy
from lamina.dtype_policies import DTypePolicy as Policy
from lamina.dtype_policies import dtype_policy as dtype_policy
from lamina.dtype_policies import dtype_policy as global_policy
from lamina.dtype_policies import set_dtype_policy as set_dtype_policy
from lamina.dtype_policies import set_dtype_policy as set_global_policy
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer as LossScaleOptimizer

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
