"""What a `Distiller` minimizes besides the student's own loss: how far the student's outputs
(or inner features) are from the teacher's.

`DistillationLoss` is the protocol (`compute_loss(teacher_outputs, student_outputs)` returns a
scalar); `LogitsDistillation` compares temperature-softened outputs and `FeatureDistillation`
compares the outputs of named inner layers (or the final outputs). Both accept one loss, or a
nested structure of losses matching the models' outputs, with None for outputs to skip.
"""

import jax
import jax.numpy as jnp

from lamina import losses as losses_lib
from lamina import tree
from lamina._registry import keras_export


def _short(value, limit=80):
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (a repr that fails still gets described)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit - 15]}...({len(text)} chars)"


def _resolve_loss(item, owner):
    """A loss name becomes its function (`"mse"` -> `mean_squared_error`, as Keras's
    `losses.get` gives); callables and None pass through."""
    if item is None or callable(item):
        return item
    if isinstance(item, str):
        try:
            return losses_lib.get(item)
        except ValueError as error:
            raise ValueError(f"{owner}: unknown loss {item!r} in `loss`. {error}") from None
    raise ValueError(
        f"{owner}: each loss in `loss` must be a loss name (such as 'mse'), a loss object or "
        f"function, or None (to skip that output). Received: {_short(item)} of type "
        f"{type(item).__name__}.")


def _resolve_losses(loss, owner):
    resolved = tree.map_structure(lambda item: _resolve_loss(item, owner), loss)
    if all(item is None for item in tree.flatten(resolved)):
        raise ValueError(
            f"{owner}: `loss` must contain at least one loss that is not None. Received: "
            f"loss={_short(loss)}.")
    return resolved


def _map_losses(fn, losses, *outputs):
    """`fn(loss, *outputs)` per output, as a flat list. One loss for one output is called
    directly, so that its own errors (a shape mismatch) reach the user unchanged."""
    if not tree.is_nested(losses):
        return [fn(losses, *outputs)]
    return tree.flatten(tree.map_structure(fn, losses, *outputs))


def _sum(values):
    return jnp.sum(jnp.stack([jnp.asarray(v, dtype="float32") for v in values]))


def _is_kl_divergence(loss_fn):
    return isinstance(loss_fn, losses_lib.KLDivergence) or loss_fn is losses_lib.kl_divergence


@keras_export("keras.distillation.DistillationLoss")
class DistillationLoss:
    """Base class of distillation losses: how the student's outputs should match the teacher's.

    Subclass it and implement `compute_loss(teacher_outputs, student_outputs, **kwargs)`,
    returning a scalar. `validate_outputs` (called on every step, while tracing) and
    `validate_model_compatibility` (called when the `Distiller` is created) may check what the
    loss needs; give the subclass `get_config` (and `from_config`) to save it in a `.keras`
    file.

    Examples:
        >>> class L1Distillation(lamina.distillation.DistillationLoss):
        ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        ...         return jnp.mean(jnp.abs(teacher_outputs - student_outputs))
        >>> float(L1Distillation().compute_loss(jnp.ones((2, 3)), jnp.zeros((2, 3))))
        1.0
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The distillation loss between the teacher's and the student's outputs: a scalar.

        Args:
            teacher_outputs: the teacher's outputs (or features): an array or a nested
                structure of arrays.
            student_outputs: the student's, in the same structure.
            **kwargs: anything a subclass needs.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute_loss(teacher_outputs, "
            "student_outputs, **kwargs), returning a scalar loss.")

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Raises `ValueError` if the teacher's and student's outputs differ in structure."""
        try:
            tree.assert_same_structure(teacher_outputs, student_outputs)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{type(self).__name__}: the teacher's and the student's outputs must have the "
                f"same structure. Teacher: {tree.map_structure(_shape, teacher_outputs)}, "
                f"student: {tree.map_structure(_shape, student_outputs)}. ({error})") from None

    def validate_model_compatibility(self, teacher, student):
        """Raises `ValueError` if this loss cannot work with these models (checks nothing by
        default)."""


def _shape(value):
    return tuple(getattr(value, "shape", ()))


@keras_export("keras.distillation.FeatureDistillation")
class FeatureDistillation(DistillationLoss):
    """Matches the outputs of an inner layer of the student to those of the teacher (or the
    final outputs, when no layer is named).

    Learning the teacher's intermediate representations often helps more than matching the
    final outputs alone. Named layers need functional or `Sequential` models, and the two
    layers' outputs must suit the loss (same shape for `"mse"`).

    Args:
        loss: the loss between the teacher's features (`y_true`) and the student's
            (`y_pred`): a name such as `"mse"`, `"mae"` or `"cosine_similarity"`, a loss object
            or function, or a nested structure of them matching the outputs, with None to skip
            an output. Defaults to `"mse"`.
        teacher_layer_name: the teacher layer whose output is matched, or None for the final
            output.
        student_layer_name: the student layer whose output must match it, or None for the
            final output.

    Examples:
        >>> loss = lamina.distillation.FeatureDistillation(loss="mse")
        >>> float(loss.compute_loss(jnp.array([[1.0, 2.0]]), jnp.array([[1.0, 4.0]])))
        2.0
        >>> loss.get_config()["teacher_layer_name"] is None
        True
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        for name, value in (("teacher_layer_name", teacher_layer_name),
                            ("student_layer_name", student_layer_name)):
            if value is not None and not isinstance(value, str):
                raise ValueError(
                    f"FeatureDistillation: `{name}` must be a layer name (a str) or None for "
                    f"the final output. Received: {name}={_short(value)} of type "
                    f"{type(value).__name__}.")
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = _resolve_losses(loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher, student):
        """Checks that named layers exist, in functional or `Sequential` models."""
        if self.teacher_layer_name is None and self.student_layer_name is None:
            return
        subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                      if _symbolic_inputs(model) is None]
        if subclassed:
            raise ValueError(
                "FeatureDistillation with teacher_layer_name/student_layer_name needs "
                f"functional or Sequential models, whose layers' outputs can be read; the "
                f"{' and '.join(subclassed)} model(s) are subclassed (no symbolic inputs). Use "
                "functional or Sequential models, FeatureDistillation without layer names "
                "(final outputs), or LogitsDistillation.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as error:
                    raise ValueError(f"In {role} model: {error}") from None

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Checks the structures of the outputs against each other and against `loss`."""
        super().validate_outputs(teacher_outputs, student_outputs)
        _check_loss_structure(self, teacher_outputs)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The sum over outputs of the mean loss between teacher and student features."""

        def one(loss_fn, teacher, student):
            if loss_fn is None:
                return 0.0
            return jnp.mean(loss_fn(teacher, student))

        return _sum(_map_losses(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {"loss": losses_lib.serialize(self.loss),
                "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = losses_lib.deserialize(config["loss"])
        return cls(**config)


@keras_export("keras.distillation.LogitsDistillation")
class LogitsDistillation(DistillationLoss):
    """Matches the student's temperature-softened outputs to the teacher's (Hinton et al.,
    2015, "Distilling the Knowledge in a Neural Network").

    Both models' logits are divided by `temperature`. With the default KL divergence, both are
    turned into probabilities by a softmax and the divergence is multiplied by
    `temperature ** 2`, which keeps its gradients on the scale of the student's own loss. Any
    other loss is applied to the scaled logits directly (so give it `from_logits=True` where it
    has that option).

    Differs from Keras 3.15: there, only a `keras.losses.KLDivergence` object gets the softmax
    and the `temperature ** 2` factor, while the default `"kl_divergence"` (a function) is
    applied to the raw scaled logits, clipped to [1e-7, 1]. lamina treats the name, the
    function and the object alike, as the documentation describes; pass
    `loss=keras.losses.KLDivergence()` to get the same numbers in both.

    Args:
        temperature: a positive number; higher values give softer distributions. Typical
            values are 2 to 5. Defaults to 3.0.
        loss: the loss between the teacher's scaled logits (`y_true`) and the student's
            (`y_pred`): a name, a loss object or function, or a nested structure of them
            matching the outputs, with None to skip an output. Defaults to
            `"kl_divergence"`.

    Examples:
        >>> loss = lamina.distillation.LogitsDistillation(temperature=2.0)
        >>> teacher, student = jnp.array([[1.0, 2.0, 3.0]]), jnp.array([[3.0, 2.0, 1.0]])
        >>> round(float(loss.compute_loss(teacher, student)), 4)
        1.2806
        >>> float(loss.compute_loss(teacher, teacher))
        0.0
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(
                "LogitsDistillation: `temperature` must be a positive number. Received: "
                f"temperature={_short(temperature)} of type {type(temperature).__name__}.")
        if not temperature > 0:
            raise ValueError(
                "LogitsDistillation: `temperature` must be positive. Received: "
                f"temperature={temperature}.")
        self.temperature = temperature
        self.loss = _resolve_losses(loss, "LogitsDistillation")

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Checks the structures of the outputs against each other and against `loss`."""
        super().validate_outputs(teacher_outputs, student_outputs)
        _check_loss_structure(self, teacher_outputs)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The sum over outputs of the loss between the temperature-scaled logits."""
        temperature = self.temperature

        def one(loss_fn, teacher, student):
            if loss_fn is None:
                return 0.0
            teacher, student = teacher / temperature, student / temperature
            if _is_kl_divergence(loss_fn):
                divergence = loss_fn(jax.nn.softmax(teacher, axis=-1),
                                     jax.nn.softmax(student, axis=-1))
                return jnp.mean(divergence) * temperature ** 2
            return jnp.mean(loss_fn(teacher, student))

        return _sum(_map_losses(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {"temperature": self.temperature, "loss": losses_lib.serialize(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = losses_lib.deserialize(config["loss"])
        return cls(**config)


def _check_loss_structure(distillation_loss, outputs):
    # One loss for a single output; a structure of losses must match a structure of outputs.
    if not tree.is_nested(distillation_loss.loss) and not tree.is_nested(outputs):
        return
    try:
        tree.assert_same_structure(distillation_loss.loss, outputs)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{type(distillation_loss).__name__}: the structure of `loss` must match the "
            f"outputs. Loss: {tree.map_structure(_loss_name, distillation_loss.loss)}, outputs: "
            f"{tree.map_structure(_shape, outputs)}. ({error})") from None


def _loss_name(loss_fn):
    return getattr(loss_fn, "name", None) or getattr(loss_fn, "__name__", repr(loss_fn))


def _symbolic_inputs(model):
    try:
        return model.inputs
    except (AttributeError, ValueError):
        return None
