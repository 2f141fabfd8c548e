"""`Distiller`: a model that trains a student to imitate a frozen teacher (knowledge
distillation), as Keras 3.15's `keras.distillation.Distiller`."""

import warnings

import jax.numpy as jnp

from lamina import tree
from lamina._registry import keras_export
from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.distillation.distillation_loss import (
    DistillationLoss, _map_losses, _resolve_losses, _short, _sum, _symbolic_inputs)
from lamina.metrics import Mean
from lamina.models import Model, Sequential

_FINAL = "final_output"


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@keras_export("keras.distillation.Distiller")
class Distiller(Model):
    """Trains a student model on its own loss and on how well it imitates a teacher.

    The teacher (a trained model) is frozen; calling the distiller, `predict` and `evaluate`
    run the student. Training minimizes

        student_loss_weight * student_loss + (1 - student_loss_weight) * distillation_loss

    where `student_loss` is the loss given to `compile` (between the labels and the student's
    outputs) and `distillation_loss` is the weighted sum of `distillation_losses` (between the
    teacher's and the student's outputs or features). The logs report `student_loss`,
    `distillation_loss` and `total_loss` (equal to `loss`) besides the compiled metrics.
    Sample weights are not applied to these losses, as in Keras.

    After training, use `distiller.student` on its own.

    Args:
        teacher: a trained `keras.Model`; it is frozen (`trainable=False`).
        student: the `keras.Model` to train, with the teacher's input and output shapes and
            dtypes.
        distillation_losses: a `DistillationLoss` (`LogitsDistillation`,
            `FeatureDistillation`, or your own), or a list of them.
        distillation_loss_weights: one weight per distillation loss (a list of one for a
            single loss; Keras 3.15 ignores the weights of a single loss), or None for 1.0
            each.
        student_loss_weight: the weight of the student's own loss, between 0 and 1.
            Defaults to 0.5.
        name: the model's name. Defaults to `"distiller"`.
        **kwargs: other `keras.Model` arguments.

    Examples:
        >>> def mlp(name, width):
        ...     return lamina.Sequential([
        ...         lamina.Input((4,)), lamina.layers.Dense(width, activation="relu"),
        ...         lamina.layers.Dense(3)], name=name)
        >>> teacher, student = mlp("teacher", 16), mlp("student", 4)
        >>> distiller = lamina.distillation.Distiller(
        ...     teacher, student,
        ...     distillation_losses=lamina.distillation.LogitsDistillation(temperature=3.0),
        ...     student_loss_weight=0.3)
        >>> distiller.compile(
        ...     optimizer="adam",
        ...     loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
        >>> x, y = np.random.rand(8, 4), np.random.randint(0, 3, 8)
        >>> sorted(distiller.fit(x, y, epochs=1, verbose=0).history)
        ['distillation_loss', 'loss', 'student_loss', 'total_loss']
        >>> distiller.predict(x, verbose=0).shape    # the student's outputs
        (8, 3)
    """

    _student_loss = None
    _student_loss_for_serialization = None

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_models(teacher, student)
        self.teacher = teacher
        self.student = student
        if not _is_number(student_loss_weight):
            raise ValueError(
                "Distiller: `student_loss_weight` must be a number between 0.0 and 1.0. "
                f"Received: student_loss_weight={_short(student_loss_weight)} of type "
                f"{type(student_loss_weight).__name__}.")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                "Distiller: `student_loss_weight` must be between 0.0 and 1.0. Received: "
                f"student_loss_weight={student_loss_weight}.")
        self.student_loss_weight = student_loss_weight
        losses, weights = _check_distillation_losses(distillation_losses,
                                                     distillation_loss_weights)
        self.distillation_losses = losses
        self.distillation_loss_weights = weights
        for distillation_loss in losses:
            distillation_loss.validate_model_compatibility(teacher, student)
        self._teacher_feature_extractor = _feature_extractor(
            teacher, _layer_names(losses, "teacher_layer_name"))
        self._student_feature_extractor = _feature_extractor(
            student, _layer_names(losses, "student_layer_name"))
        self.teacher.trainable = False
        self.student_loss_tracker = Mean(name="student_loss")
        self.distillation_loss_tracker = Mean(name="distillation_loss")
        self.total_loss_tracker = Mean(name="total_loss")

    # ------------------------------------------------------------------------- training
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configures training: the optimizer (of the student's weights), the student's own
        loss (required: between the labels and the student's outputs; one loss, or a
        structure matching the outputs) and metrics (a list, computed on the student's
        outputs). Other arguments are `Model.compile`'s.

        Examples:
            >>> teacher = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)])
            >>> student = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(2)])
            >>> distiller = lamina.distillation.Distiller(
            ...     teacher, student, lamina.distillation.LogitsDistillation())
            >>> distiller.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        """
        if loss is None:
            raise ValueError(
                "Distiller.compile: 'loss' cannot be None. Pass the student's own loss, e.g. "
                "loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True) "
                "(student_loss_weight=0.0 leaves it out of training).")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(
                "Distiller.compile: `metrics` must be a list or tuple of metrics. Received: "
                f"metrics={_short(metrics)} of type {type(metrics).__name__}.")
        student_loss = _resolve_losses(loss, "Distiller.compile")
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)
        self._student_loss = student_loss
        self._student_loss_for_serialization = loss

    def call(self, inputs, training=None, **kwargs):
        return self.student(inputs, training=training, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the student's loss and the distillation losses; updates the
        `student_loss`, `distillation_loss` and `total_loss` metrics."""
        if y_pred is None:
            y_pred = self(x, training=training)
        weight = self.student_loss_weight
        student_loss = 0.0
        if weight > 0.0 and y is not None:
            if self._student_loss is None:
                raise ValueError(
                    f"Distiller '{self.name}' has no student loss: it was loaded from a file "
                    "saved without one (by Keras 3.15). Call distiller.compile(optimizer=..., "
                    "loss=...) with the student's loss first.")
            values = _map_losses(lambda loss_fn, target, prediction: loss_fn(target, prediction),
                                 self._student_loss, y, y_pred)
            student_loss = _sum(values) if len(values) > 1 else values[0]
            if jnp.ndim(student_loss) > 0:
                student_loss = jnp.mean(student_loss)
        distillation_loss = 0.0
        if weight < 1.0:
            teacher_features = self._teacher_features(x)
            student_features = self._student_features(x, y_pred)
            for loss_fn, loss_weight in zip(self.distillation_losses,
                                            self.distillation_loss_weights):
                teacher_out, student_out = _features_for(
                    loss_fn, teacher_features, student_features, y_pred)
                loss_fn.validate_outputs(teacher_out, student_out)
                value = loss_fn.compute_loss(teacher_out, student_out)
                if jnp.ndim(value) > 0:
                    raise ValueError(
                        f"Distillation loss {type(loss_fn).__name__} returned a non-scalar loss "
                        f"with shape {jnp.shape(value)}. Its compute_loss method must return a "
                        "scalar (reduce with a mean or sum).")
                distillation_loss = jnp.add(distillation_loss,
                                            jnp.multiply(loss_weight, value))
        total = jnp.add(jnp.multiply(weight, student_loss),
                        jnp.multiply(1.0 - weight, distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return total

    def _teacher_features(self, x):
        if self._teacher_feature_extractor is not None:
            return self._teacher_feature_extractor(x, training=False)
        return {_FINAL: self.teacher(x, training=False)}

    def _student_features(self, x, y_pred):
        if self._student_feature_extractor is not None:
            return self._student_feature_extractor(x, training=True)
        return {_FINAL: y_pred}

    def reset_metrics(self):
        super().reset_metrics()
        for tracker in (self.student_loss_tracker, self.distillation_loss_tracker,
                        self.total_loss_tracker):
            tracker.reset_state()

    # --------------------------------------------------------------------- serialization
    def get_config(self):
        config = super().get_config()
        config.update({
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [serialize_keras_object(loss)
                                    for loss in self.distillation_losses],
            "distillation_loss_weights": list(self.distillation_loss_weights),
            "student_loss_weight": self.student_loss_weight,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = deserialize_keras_object(config[key], custom_objects=custom_objects)
        config["distillation_losses"] = [
            deserialize_keras_object(loss, custom_objects=custom_objects)
            for loss in config["distillation_losses"]]
        return cls(**config)

    def get_compile_config(self):
        # Keras 3.15 saves loss=None here (its compile() is given the student's loss, but the
        # base class records None), so a reloaded Distiller comes back uncompiled. lamina saves
        # the student's loss, and compile_from_config reads both forms.
        config = super().get_compile_config()
        if config is not None and getattr(self, "_student_loss_for_serialization", None):
            config = dict(config, loss=serialize_keras_object(
                self._student_loss_for_serialization))
        return config

    def compile_from_config(self, config):
        if isinstance(config, dict) and config.get("loss") is None:
            # Keras 3.15 loads such a file uncompiled, with a warning. lamina compiles the rest
            # (optimizer, metrics), so that training with student_loss_weight=0.0 still works.
            warnings.warn(
                "This Distiller's saved compile configuration has no student loss (Keras 3.15 "
                "saves it without one). Call distiller.compile(optimizer=..., loss=...) before "
                "training or evaluating it with a student loss.", stacklevel=2)
            Model.compile(self, **deserialize_keras_object(config))
            self._student_loss = self._student_loss_for_serialization = None
            return
        super().compile_from_config(config)


# ----------------------------------------------------------------------------- checks
def _check_models(teacher, student):
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, Model):
            raise ValueError(
                f"Distiller: `{role}` must be a keras.Model. Received: {role}={_short(model)} "
                f"of type {type(model).__name__}.")
    for kind, attribute in (("input", "inputs"), ("output", "outputs")):
        teacher_tensors = _symbolic(teacher, attribute)
        student_tensors = _symbolic(student, attribute)
        if teacher_tensors is None or student_tensors is None:
            continue  # a subclassed model: nothing to compare before it runs
        try:
            pairs = list(zip(tree.flatten(teacher_tensors), tree.flatten(student_tensors),
                             strict=True))
        except ValueError:
            raise ValueError(
                f"Distiller: the teacher and the student must have the same {kind}s. Teacher: "
                f"{len(tree.flatten(teacher_tensors))} {kind}(s), student: "
                f"{len(tree.flatten(student_tensors))}.") from None
        for t, s in pairs:
            t_shape, s_shape = tuple(t.shape), tuple(s.shape)
            if len(t_shape) != len(s_shape) or any(
                    a is not None and b is not None and a != b for a, b in zip(t_shape, s_shape)):
                raise ValueError(
                    f"Teacher and student {kind} shapes are incompatible. Teacher: {t_shape}, "
                    f"Student: {s_shape}. All dimensions must match (None matches any).")
            if t.dtype != s.dtype:
                raise ValueError(
                    f"Teacher and student {kind} dtypes must match. Teacher: {t.dtype}, "
                    f"Student: {s.dtype}.")


def _symbolic(model, attribute):
    try:
        return getattr(model, attribute)
    except (AttributeError, ValueError):
        return None


def _check_distillation_losses(losses, weights):
    if losses is None:
        raise ValueError(
            "Distiller: 'distillation_losses' cannot be None. Provide a distillation loss (e.g. "
            "LogitsDistillation or FeatureDistillation) or a list of them.")
    single = not isinstance(losses, (list, tuple))
    losses = [losses] if single else list(losses)
    if not losses:
        raise ValueError(
            "Distiller: 'distillation_losses' must hold at least one distillation loss. "
            "Received an empty list.")
    for index, loss in enumerate(losses):
        if not isinstance(loss, DistillationLoss):
            where = "distillation_losses" if single else f"distillation_losses[{index}]"
            raise ValueError(
                f"Distiller: {where} must be a keras.distillation.DistillationLoss (such as "
                f"LogitsDistillation(temperature=3.0)). Received: {_short(loss)} of type "
                f"{type(loss).__name__}.")
    if weights is None:
        return losses, [1.0] * len(losses)
    if not isinstance(weights, (list, tuple)) or not all(_is_number(w) for w in weights):
        raise ValueError(
            "Distiller: `distillation_loss_weights` must be a list of numbers, one per "
            f"distillation loss, or None. Received: distillation_loss_weights={_short(weights)}.")
    if len(weights) != len(losses):
        raise ValueError(
            f"Number of distillation_loss_weights ({len(weights)}) must match number of "
            f"distillation_losses ({len(losses)}).")
    return losses, list(weights)


def _layer_names(losses, attribute):
    names = []
    for loss in losses:
        name = getattr(loss, attribute, None)
        if name and name not in names:
            names.append(name)
    return names


def _feature_extractor(model, layer_names):
    """A functional model giving the final output and the named layers' outputs, in one pass
    (None when no layer is named)."""
    if not layer_names:
        return None
    inputs = _symbolic_inputs(model)
    if inputs is None:
        raise ValueError(
            f"Cannot create a feature extractor for model '{model.name}': it has no symbolic "
            "inputs (a subclassed model). Use a functional or Sequential model.")
    final = model.layers[-1].output if isinstance(model, Sequential) else model.outputs
    if isinstance(final, (list, tuple)) and len(final) == 1:
        final = final[0]
    outputs = {_FINAL: final}
    for name in layer_names:
        outputs[name] = model.get_layer(name=name).output
    return Model(inputs=inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")


def _features_for(loss_fn, teacher_features, student_features, y_pred):
    if getattr(loss_fn, "teacher_layer_name", None) is None:
        # Final outputs: the teacher's, and the student's predictions of this step.
        return teacher_features[_FINAL], y_pred
    teacher_name = loss_fn.teacher_layer_name
    student_name = getattr(loss_fn, "student_layer_name", None) or _FINAL
    missing = [name for name, features in ((teacher_name, teacher_features),
                                           (student_name, student_features))
               if name not in features]
    if missing:
        raise RuntimeError(
            f"Failed to extract features for {type(loss_fn).__name__} targeting teacher layer "
            f"'{teacher_name}' and student layer '{loss_fn.student_layer_name}': no features "
            f"for {missing}. Available: teacher {list(teacher_features)}, student "
            f"{list(student_features)}.")
    return teacher_features[teacher_name], student_features[student_name]
