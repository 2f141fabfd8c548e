"""`keras.distillation`: knowledge distillation, training a small student model to imitate a
large teacher.

`Distiller` is a `Model` that wraps both: `compile` it with the student's own loss, `fit` it,
then use `distiller.student`. What "imitate" means is a `DistillationLoss`:
`LogitsDistillation` (temperature-softened outputs) or `FeatureDistillation` (inner layers'
outputs), or a subclass of your own.

Examples:
    >>> teacher = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], name="t")
    >>> student = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], name="s")
    >>> distiller = lamina.distillation.Distiller(
    ...     teacher, student, [lamina.distillation.LogitsDistillation(temperature=2.0),
    ...                        lamina.distillation.FeatureDistillation(loss="mse")],
    ...     distillation_loss_weights=[1.0, 0.5])
    >>> teacher.trainable
    False
"""

from lamina.distillation.distillation_loss import DistillationLoss as DistillationLoss
from lamina.distillation.distillation_loss import FeatureDistillation as FeatureDistillation
from lamina.distillation.distillation_loss import LogitsDistillation as LogitsDistillation
from lamina.distillation.distiller import Distiller as Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
