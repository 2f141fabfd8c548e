"""The built-in optimizers: update rules against NumPy references, and against Keras 3.

Every rule runs a few steps on small variables and is compared with the float32 NumPy version
in `_reference.py` (1e-6), and, when Keras 3 is installed, with Keras fed the same gradients.
"""

import inspect
import os
import sys

import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina.optimizers import _arguments

sys.path.insert(0, os.path.dirname(__file__))
import _reference as ref

RNG = np.random.default_rng(7)
VECTOR = RNG.normal(size=(3,)).astype(np.float32)
MATRIX = RNG.normal(size=(2, 3)).astype(np.float32)
GRADS = [[RNG.normal(size=(3,)).astype(np.float32), RNG.normal(size=(2, 3)).astype(np.float32)]
         for _ in range(4)]
LR = 0.05

# (class name, constructor arguments, NumPy reference, whether it is checked on the matrix too)
RULES = [
    ("SGD", {}, ref.run_sgd),
    ("SGD", {"momentum": 0.9}, ref.run_sgd),
    ("SGD", {"momentum": 0.9, "nesterov": True}, ref.run_sgd),
    ("Adam", {}, ref.run_adam),
    ("Adam", {"amsgrad": True, "beta_1": 0.8, "epsilon": 1e-3}, ref.run_adam),
    ("AdamW", {"weight_decay": 0.1}, ref.run_adamw),
    ("Nadam", {}, ref.run_nadam),
    ("Adamax", {}, ref.run_adamax),
    ("Lamb", {}, ref.run_lamb),
    ("RMSprop", {}, ref.run_rmsprop),
    ("RMSprop", {"momentum": 0.5, "centered": True, "rho": 0.8}, ref.run_rmsprop),
    ("Adagrad", {}, ref.run_adagrad),
    ("Adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}, ref.run_adagrad),
    ("Adadelta", {}, ref.run_adadelta),
    ("Ftrl", {}, ref.run_ftrl),
    ("Ftrl", {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.1,
              "l2_shrinkage_regularization_strength": 0.05, "beta": 0.5,
              "learning_rate_power": -0.7}, ref.run_ftrl),
    ("Lion", {}, ref.run_lion),
    ("Adafactor", {}, ref.run_adafactor),
    ("Muon", {}, ref.run_muon),
]


def _ids(rules):
    return [f"{name}-{'-'.join(sorted(kw)) or 'defaults'}" for name, kw, *_ in rules]


def _run_lamina(name, kwargs, steps=GRADS):
    optimizer = getattr(optimizers, name)(learning_rate=LR, **kwargs)
    variables = [lamina.Variable(VECTOR, name="vector"), lamina.Variable(MATRIX, name="matrix")]
    for grads in steps:
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables], optimizer


@pytest.mark.parametrize("name, kwargs, reference", RULES, ids=_ids(RULES))
def test_update_rule_matches_numpy(name, kwargs, reference):
    got, optimizer = _run_lamina(name, kwargs)
    expected = reference([VECTOR, MATRIX], GRADS, LR, **kwargs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    assert int(optimizer.iterations) == len(GRADS)


def test_defaults_and_slots_follow_keras_names():
    optimizer = optimizers.Adam()
    assert (optimizer.name, optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (
        "adam", 0.9, 0.999, 1e-7)
    assert optimizers.RMSprop().name == "rm_sprop"  # Keras's snake-casing of RMSprop
    assert optimizers.AdamW().weight_decay == 0.004
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="dense")],
                              name="net")
    optimizer = optimizers.Adam(name="adam", amsgrad=True)
    optimizer.build(model.trainable_variables)
    assert [v.path for v in optimizer.variables] == [
        "adam/iteration", "adam/learning_rate",
        "adam/net_dense_kernel_momentum", "adam/net_dense_kernel_velocity",
        "adam/net_dense_bias_momentum", "adam/net_dense_bias_velocity",
        "adam/net_dense_kernel_velocity_hat", "adam/net_dense_bias_velocity_hat"]
    assert optimizer.variables[0].dtype == "int32"
    assert not any(v.trainable for v in optimizer.variables)


def test_sgd_without_momentum_has_no_slots_and_validates_momentum():
    optimizer = optimizers.SGD()
    optimizer.build([lamina.Variable([1.0])])
    assert len(optimizer.variables) == 2
    for bad in (-0.1, 1.5, "0.9"):
        with pytest.raises(ValueError, match="momentum"):
            optimizers.SGD(momentum=bad)


def test_constructor_argument_checks():
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        optimizers.Ftrl(l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)


def test_adafactor_factors_matrices_and_lamb_trust_ratio():
    _, optimizer = _run_lamina("Adafactor", {}, steps=GRADS[:1])
    assert [tuple(v.shape) for v in optimizer.variables[2:]] == [
        (), (), (3,), (2,), (3,), (2, 3)]  # vector: placeholders + velocity; matrix: r, c, v
    w = lamina.Variable(np.array([3.0, 4.0], np.float32))
    optimizers.Lamb(learning_rate=0.1).apply_gradients([(np.ones(2, np.float32), w)])
    np.testing.assert_allclose(np.linalg.norm(w.numpy() - [3.0, 4.0]), 0.5, rtol=1e-5)


# ----------------------------------------------------------------------------------- Keras 3
def _keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


KERAS_CASES = [(name, kwargs) for name, kwargs, _ in RULES] + [
    ("Lamb", {"weight_decay": 0.01}),
    ("Adam", {"clipnorm": 0.5}),
    ("Adam", {"global_clipnorm": 0.5}),
    ("SGD", {"clipvalue": 0.3}),
    ("Adam", {"weight_decay": 0.1}),
    ("SGD", {"use_ema": True, "ema_overwrite_frequency": 2}),
    ("Adam", {"gradient_accumulation_steps": 2}),
    ("SGD", {"momentum": 0.5, "gradient_accumulation_steps": 3, "use_ema": True}),
    ("Nadam", {"loss_scale_factor": 4.0}),
]


@pytest.mark.parametrize("name, kwargs", KERAS_CASES, ids=_ids(KERAS_CASES))
def test_matches_keras(name, kwargs):
    keras = _keras()
    theirs = getattr(keras.optimizers, name)(learning_rate=LR, **kwargs)
    their_variables = [keras.Variable(VECTOR), keras.Variable(MATRIX)]
    ours, optimizer = _run_lamina(name, kwargs)
    for grads in GRADS:
        theirs.apply_gradients(zip(grads, their_variables))
    for a, b in zip(ours, their_variables):
        np.testing.assert_allclose(a, np.asarray(b.numpy()), rtol=1e-6, atol=1e-6)
    assert len(optimizer.variables) == len(theirs.variables)
    for a, b in zip(optimizer.variables, theirs.variables):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-5, atol=1e-6)


def test_slot_paths_match_keras():
    keras = _keras()
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")],
                              name="net")
    ours = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="dense")],
                             name="net")
    for name in ("Adam", "RMSprop", "Ftrl", "Lion"):
        kwargs = {"name": "opt", "use_ema": True, "gradient_accumulation_steps": 2}
        their_optimizer = getattr(keras.optimizers, name)(**kwargs)
        our_optimizer = getattr(optimizers, name)(**kwargs)
        their_optimizer.build(theirs.trainable_variables)
        our_optimizer.build(ours.trainable_variables)
        assert [v.path for v in our_optimizer.variables] == [
            v.path for v in their_optimizer.variables]


PUBLIC = ["SGD", "Adam", "AdamW", "Adamax", "Nadam", "Lamb", "RMSprop", "Adagrad", "Adadelta",
          "Adafactor", "Ftrl", "Lion", "Muon"]


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_defaults_and_config_match_keras(name):
    """Each optimizer states only its own arguments (and `learning_rate`, with Keras's
    default); the base ones pass through `*args, **kwargs`, and their defaults show in the
    config."""
    keras = _keras()
    theirs = getattr(keras.optimizers, name)
    ours = getattr(optimizers, name)
    their_parameters, our_parameters = (
        {key: parameter for key, parameter in inspect.signature(cls.__init__).parameters.items()
         if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)}
        for cls in (theirs, ours))
    base = set(_arguments.BASE_ARGUMENTS) - {"learning_rate"}
    assert [key for key in their_parameters if key not in base] == [
        key for key in our_parameters if key not in base]
    for key, parameter in our_parameters.items():
        assert parameter.default == their_parameters[key].default, key
    assert ours(name="o").get_config() == theirs(name="o").get_config()


@pytest.mark.parametrize("name", PUBLIC)
def test_base_arguments_work_positionally_as_in_keras(name):
    """Keras's built-ins take the base arguments positionally after their own (AdamW's
    `weight_decay` second, Muon's after `epsilon`); lamina's pass them on in the same places."""
    keras = _keras()
    theirs = getattr(keras.optimizers, name)
    ours = getattr(optimizers, name)
    changed = {"weight_decay": 0.01, "clipnorm": 0.5, "ema_momentum": 0.9, "name": "p"}
    positional = []
    for key, parameter in inspect.signature(theirs.__init__).parameters.items():
        if key == "self":
            continue
        positional.append(changed.get(key, parameter.default))
        if key == "name":
            break
    assert ours(*positional).get_config() == theirs(*positional).get_config()
