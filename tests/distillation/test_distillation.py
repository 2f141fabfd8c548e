"""`keras.distillation`: losses and a Distiller's training numbers side by side with Keras 3.15,
configs, `.keras` files both ways, frozen teachers, and bad input."""

import json
import os
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina.distillation import (
    DistillationLoss, Distiller, FeatureDistillation, LogitsDistillation)


@pytest.fixture(scope="module")
def keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


TEACHER = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-1.0, 0.5, 2.0]], "float32")
STUDENT = np.array([[2.0, 1.0, 4.0], [3.0, 6.0, 2.0], [0.0, -2.0, 1.0]], "float32")


def _value(loss, teacher=TEACHER, student=STUDENT):
    return float(np.asarray(loss.compute_loss(teacher, student)))


# ------------------------------------------------------------------------ the losses' numbers
@pytest.mark.parametrize(("temperature", "loss"), [
    (3.0, "kl_object"), (1.0, "kl_object"), (2.0, "categorical_crossentropy"), (2.0, "mse"),
    (4.0, "cce_from_logits"), (2.5, "mae"),
])
def test_logits_distillation_matches_keras(keras, temperature, loss):
    def make(lib):
        value = {"kl_object": lambda: lib.losses.KLDivergence(),
                 "cce_from_logits": lambda: lib.losses.CategoricalCrossentropy(from_logits=True),
                 }.get(loss, lambda: loss)()
        return lib.distillation.LogitsDistillation(temperature=temperature, loss=value)

    assert _value(make(lamina)) == pytest.approx(_value(make(keras)), rel=1e-6, abs=1e-7)


def test_the_default_kl_divergence_softens_both_outputs_and_scales_by_t_squared(keras):
    # Documented difference: Keras 3.15 applies the "kl_divergence" *function* (its default)
    # to the raw scaled logits; lamina gives every KL form the softmax and T**2 that Keras's
    # KLDivergence object gets, which is what its documentation describes.
    ours = _value(LogitsDistillation(temperature=3.0))
    keras_object = _value(keras.distillation.LogitsDistillation(
        temperature=3.0, loss=keras.losses.KLDivergence()))
    assert ours == pytest.approx(keras_object, rel=1e-6)
    for spelled in ("kl_divergence", "kld", lamina.losses.kl_divergence,
                    lamina.losses.KLDivergence()):
        assert _value(LogitsDistillation(temperature=3.0, loss=spelled)) == pytest.approx(ours)
    t, s = TEACHER / 3.0, STUDENT / 3.0
    p = np.exp(t) / np.exp(t).sum(-1, keepdims=True)
    q = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    assert ours == pytest.approx(9.0 * np.mean(np.sum(p * np.log(p / q), -1)), rel=1e-5)
    assert _value(LogitsDistillation(), TEACHER, TEACHER) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("loss", ["mse", "mae", "cosine_similarity", "huber"])
def test_feature_distillation_matches_keras(keras, loss):
    ours = _value(FeatureDistillation(loss=loss))
    theirs = _value(keras.distillation.FeatureDistillation(loss=loss))
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-7)


def test_structures_of_losses_with_outputs_skipped(keras):
    teacher = [TEACHER, TEACHER[:, :2]]
    student = [STUDENT, STUDENT[:, :2]]
    for name in ("LogitsDistillation", "FeatureDistillation"):
        values = []
        for lib in (lamina, keras):
            cls = getattr(lib.distillation, name)
            losses = ["mse", None]
            loss = cls(loss=losses) if name == "FeatureDistillation" else cls(2.0, losses)
            loss.validate_outputs(teacher, student)
            values.append(_value(loss, teacher, student))
        assert values[0] == pytest.approx(values[1], rel=1e-6)
        with pytest.raises(ValueError, match="same structure"):
            getattr(lamina.distillation, name)().validate_outputs(TEACHER, {"out": STUDENT})


def test_configs_are_keras_configs_and_round_trip(keras):
    for make in (lambda lib: lib.distillation.LogitsDistillation(2.0, lib.losses.KLDivergence()),
                 lambda lib: lib.distillation.LogitsDistillation(4.0, ["mse", None]),
                 lambda lib: lib.distillation.FeatureDistillation("mae", "t_hidden", "s_hidden")):
        ours, theirs = make(lamina), make(keras)
        assert lamina.saving.serialize_keras_object(ours) == \
            keras.saving.serialize_keras_object(theirs)
        rebuilt = lamina.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(theirs))
        assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()
        assert _value(rebuilt, [TEACHER, TEACHER] if isinstance(rebuilt.loss, list) else TEACHER,
                      [STUDENT, STUDENT] if isinstance(rebuilt.loss, list) else STUDENT) == \
            pytest.approx(_value(ours, *([[TEACHER, TEACHER], [STUDENT, STUDENT]]
                                         if isinstance(ours.loss, list) else [])))


# ------------------------------------------------------------------------------ the Distiller
def _mlp(lib, prefix, scale):
    return lib.Sequential([
        lib.Input((4,)),
        lib.layers.Dense(6, activation="tanh", name=f"{prefix}_hidden",
                         kernel_initializer=lib.initializers.Constant(
                             np.linspace(-scale, scale, 24).reshape(4, 6))),
        lib.layers.Dense(3, name=f"{prefix}_out", kernel_initializer=lib.initializers.Constant(
            np.linspace(0.5, -0.4, 18).reshape(6, 3))),
    ], name=prefix)


def _distiller(lib, student_loss_weight=0.3):
    distiller = lib.distillation.Distiller(
        _mlp(lib, "teacher", 0.6), _mlp(lib, "student", 0.9),
        [lib.distillation.LogitsDistillation(temperature=2.0, loss=lib.losses.KLDivergence()),
         lib.distillation.FeatureDistillation(teacher_layer_name="teacher_hidden",
                                              student_layer_name="student_hidden")],
        distillation_loss_weights=[1.0, 0.5], student_loss_weight=student_loss_weight)
    distiller.compile(optimizer=lib.optimizers.SGD(0.1),
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    return distiller


X = np.random.default_rng(0).normal(size=(12, 4)).astype("float32")
Y = np.arange(12) % 3


def test_training_matches_keras(keras):
    results = []
    for lib in (lamina, keras):
        distiller = _distiller(lib)
        history = distiller.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0)
        results.append({
            "history": history.history,
            "evaluate": distiller.evaluate(X, Y, verbose=0, return_dict=True),
            "predict": np.asarray(distiller.predict(X, verbose=0)),
            "student": [np.asarray(w) for w in distiller.student.get_weights()],
            "trainable": [v.path for v in distiller.trainable_variables],
            "non_trainable": [v.path for v in distiller.non_trainable_variables],
        })
    ours, theirs = results
    assert sorted(ours["history"]) == sorted(theirs["history"]) == [
        "accuracy", "distillation_loss", "loss", "student_loss", "total_loss"]
    for key in theirs["history"]:
        np.testing.assert_allclose(ours["history"][key], theirs["history"][key], rtol=1e-5,
                                   err_msg=key)
    assert ours["evaluate"] == pytest.approx(theirs["evaluate"], rel=1e-5)
    assert ours["history"]["distillation_loss"][0] > 1e-3  # the teacher is imitated
    np.testing.assert_allclose(ours["predict"], theirs["predict"], rtol=1e-5, atol=1e-6)
    for a, b in zip(ours["student"], theirs["student"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ours["trainable"] == theirs["trainable"]  # the student's weights only
    assert ours["non_trainable"] == theirs["non_trainable"]


def test_the_teacher_is_frozen_and_the_student_learns():
    distiller = _distiller(lamina)
    assert distiller.teacher.trainable is False and distiller.student.trainable
    teacher = [w.copy() for w in distiller.teacher.get_weights()]
    student = [w.copy() for w in distiller.student.get_weights()]
    distiller.fit(X, Y, epochs=1, verbose=0)
    for before, after in zip(teacher, distiller.teacher.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.allclose(b, a) for b, a in zip(student, distiller.student.get_weights()))
    np.testing.assert_array_equal(distiller(X), distiller.student(X))


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_student_loss_weight_at_its_ends(weight):
    history = _distiller(lamina, student_loss_weight=weight).fit(X, Y, epochs=1,
                                                                  verbose=0).history
    zero = "student_loss" if weight == 0.0 else "distillation_loss"
    assert history[zero] == [0.0]
    other = "distillation_loss" if weight == 0.0 else "student_loss"
    assert history["total_loss"] == pytest.approx(history[other])


def test_config_matches_keras_and_rebuilds(keras):
    ours, theirs = _distiller(lamina).get_config(), _distiller(keras).get_config()
    assert sorted(ours) == sorted(theirs)
    for key in ("name", "trainable", "dtype", "distillation_losses", "distillation_loss_weights",
                "student_loss_weight"):
        assert ours[key] == theirs[key], key
    json.dumps(ours)
    rebuilt = Distiller.from_config(ours)
    assert rebuilt.student_loss_weight == 0.3 and rebuilt.distillation_loss_weights == [1.0, 0.5]
    assert isinstance(rebuilt.distillation_losses[1], FeatureDistillation)
    assert rebuilt.teacher.trainable is False and rebuilt(X).shape == (12, 3)


def test_keras_files_move_both_ways(keras, tmp_path):
    ours = _distiller(lamina)
    ours.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "lamina.keras"
    ours.save(path)
    loaded = lamina.saving.load_model(path)
    assert type(loaded) is Distiller and loaded.compiled  # the student's loss is saved
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(ours.evaluate(X, Y, verbose=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_keras = keras.saving.load_model(path)
    np.testing.assert_allclose(in_keras.predict(X, verbose=0), ours.predict(X, verbose=0),
                               rtol=1e-6)

    theirs = _distiller(keras)
    theirs.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "keras.keras"
    theirs.save(path)
    with pytest.warns(UserWarning, match="has no student loss"):
        loaded = lamina.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="has no student loss.*Call distiller.compile"):
        loaded.evaluate(X, Y, verbose=0)
    loaded.compile(optimizer="sgd", loss=lamina.losses.SparseCategoricalCrossentropy(True))
    assert np.isfinite(loaded.evaluate(X, Y, verbose=0)[0])


def test_a_custom_distillation_loss_and_a_non_scalar_one():
    class MeanAbs(DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return jnp.mean(jnp.abs(teacher_outputs - student_outputs))

    class PerSample(DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return jnp.abs(teacher_outputs - student_outputs).sum(-1)

    teacher, student = _mlp(lamina, "t", 0.6), _mlp(lamina, "s", 0.9)
    distiller = Distiller(teacher, student, MeanAbs(), student_loss_weight=0.0)
    distiller.compile(optimizer="sgd", loss="mse")
    expected = np.mean(np.abs(teacher.predict(X, verbose=0) - student.predict(X, verbose=0)))
    assert distiller.evaluate(X, Y, verbose=0)[0] == pytest.approx(expected, rel=1e-5)
    bad = Distiller(teacher, student, PerSample())
    bad.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"returned a non-scalar loss with shape \(12,\)"):
        bad.evaluate(X, np.eye(3)[Y], verbose=0, batch_size=12)
    with pytest.raises(ValueError, match=r"y_true and y_pred cannot broadcast"):
        bad.evaluate(X, Y, verbose=0)  # the student loss's own error, unchanged
    with pytest.raises(NotImplementedError, match="must implement compute_loss"):
        DistillationLoss().compute_loss(TEACHER, STUDENT)


# ------------------------------------------------------------------------------- bad input
class _Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.dense = lamina.layers.Dense(3)

    def call(self, x):
        return self.dense(x)


def _models():
    return _mlp(lamina, "teacher", 0.6), _mlp(lamina, "student", 0.9)


@pytest.mark.parametrize(("make", "match"), [
    (lambda t, s: Distiller("model", s, LogitsDistillation()),
     r"`teacher` must be a keras.Model. Received: teacher='model' of type str"),
    (lambda t, s: Distiller(t, None, LogitsDistillation()), r"`student` must be a keras.Model"),
    (lambda t, s: Distiller(t, s, None), r"'distillation_losses' cannot be None"),
    (lambda t, s: Distiller(t, s, "kl_divergence"),
     r"distillation_losses must be a keras.distillation.DistillationLoss.*'kl_divergence'"),
    (lambda t, s: Distiller(t, s, [LogitsDistillation(), "mse"]),
     r"distillation_losses\[1\] must be a keras.distillation.DistillationLoss"),
    (lambda t, s: Distiller(t, s, [LogitsDistillation()] * 2, distillation_loss_weights=[1.0]),
     r"Number of distillation_loss_weights \(1\) must match number of distillation_losses \(2\)"),
    (lambda t, s: Distiller(t, s, [LogitsDistillation()], distillation_loss_weights=["1"]),
     r"`distillation_loss_weights` must be a list of numbers"),
    (lambda t, s: Distiller(t, s, LogitsDistillation(), student_loss_weight="0.5"),
     r"`student_loss_weight` must be a number.*of type str"),
    (lambda t, s: Distiller(t, s, LogitsDistillation(), student_loss_weight=1.5),
     r"`student_loss_weight` must be between 0.0 and 1.0. Received: student_loss_weight=1.5"),
    (lambda t, s: Distiller(t, lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(3)]),
                            LogitsDistillation()),
     r"Teacher and student input shapes are incompatible. Teacher: \(None, 4\), Student: "
     r"\(None, 5\)"),
    (lambda t, s: Distiller(t, s, FeatureDistillation(teacher_layer_name="nope")),
     r"In teacher model: No layer named 'nope'"),
    (lambda t, s: Distiller(_Subclassed(), s, FeatureDistillation(teacher_layer_name="dense")),
     r"needs functional or Sequential models.*the teacher model\(s\) are subclassed"),
    (lambda t, s: LogitsDistillation(temperature="3"),
     r"`temperature` must be a positive number. Received: temperature='3' of type str"),
    (lambda t, s: LogitsDistillation(temperature=0), r"`temperature` must be positive"),
    (lambda t, s: LogitsDistillation(loss=[None, None]), r"at least one loss that is not None"),
    (lambda t, s: LogitsDistillation(loss="not_a_loss"), r"unknown loss 'not_a_loss'"),
    (lambda t, s: FeatureDistillation(loss=3), r"each loss in `loss` must be a loss name"),
    (lambda t, s: FeatureDistillation(teacher_layer_name=2),
     r"`teacher_layer_name` must be a layer name \(a str\) or None"),
])
def test_bad_arguments_raise_keras_value_errors_naming_them(make, match):
    teacher, student = _models()
    with pytest.raises(ValueError, match=match):
        make(teacher, student)
    assert teacher.trainable  # nothing was frozen by a refused Distiller


def test_compile_refuses_a_missing_loss_and_non_list_metrics():
    distiller = Distiller(*_models(), LogitsDistillation())
    with pytest.raises(ValueError, match="'loss' cannot be None"):
        distiller.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="`metrics` must be a list or tuple.*'accuracy'"):
        distiller.compile(optimizer="sgd", loss="mse", metrics="accuracy")
    assert not distiller.compiled


def test_a_single_loss_takes_its_weight():
    teacher, student = _models()
    halved = Distiller(teacher, student, FeatureDistillation(), distillation_loss_weights=[0.5],
                       student_loss_weight=0.0)
    full = Distiller(teacher, student, FeatureDistillation(), student_loss_weight=0.0)
    for distiller in (halved, full):
        distiller.compile(optimizer="sgd", loss="mse")
    assert halved.distillation_loss_weights == [0.5] and full.distillation_loss_weights == [1.0]
    assert halved.evaluate(X, Y, verbose=0)[0] == pytest.approx(
        0.5 * full.evaluate(X, Y, verbose=0)[0], rel=1e-6)
