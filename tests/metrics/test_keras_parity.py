"""Every built-in metric against Keras 3 (JAX backend) on the same streamed batches: values,
variables and configs. Skipped when Keras is not installed."""

import json
import os
import re
import sys

import numpy as np
import pytest

import lamina

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")

sys.path.insert(0, os.path.dirname(__file__))
from _metric_cases import BATCH, CASES, make_batches  # noqa: E402

# Keys lamina writes where Keras 3 drops a non-default hyperparameter (none in CASES).
_LAMINA_ONLY_KEYS = {"axis"}


def _stream(metric, batches):
    results = []
    for args, kwargs in batches:
        metric.update_state(*args, **kwargs)
        results.append(np.asarray(metric.result()))
    return results


def _base_name(name):
    # Auto-names count per process (precision_3): Keras's counters run on across tests.
    return re.sub(r"_\d+$", "", name)


def _normalize(config):
    def plain(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        return value

    config = {k: plain(v) for k, v in config.items()}
    config["name"] = _base_name(config["name"])
    return json.loads(json.dumps(config, default=str))


@pytest.mark.parametrize("case_id, factory, kind", CASES, ids=[c[0] for c in CASES])
def test_metric_matches_keras(case_id, factory, kind):
    batches = make_batches(kind, count=2)
    if case_id.endswith("_ignore"):
        # Keras 3 on JAX drops the ignore_class mask of unweighted batches (the ignored entries
        # then count as 0 in the mean); lamina always excludes them. With weights both do.
        batches = [(args, {"sample_weight": np.ones(BATCH, "float32")}) for args, _ in batches]
    ours, theirs = factory(lamina.metrics), factory(keras.metrics)
    for mine, reference in zip(_stream(ours, batches), _stream(theirs, batches)):
        np.testing.assert_allclose(mine, reference, rtol=2e-6, atol=1e-6)
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables]
    for mine, reference in zip(ours.variables, theirs.variables):
        assert mine.shape == tuple(reference.shape)
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine.numpy(), np.asarray(reference), rtol=2e-6, atol=1e-5)
    assert _base_name(ours.name) == _base_name(theirs.name)
    assert _normalize(ours.get_config()) == _normalize(theirs.get_config())


@pytest.mark.parametrize("case_id, factory, kind", CASES, ids=[c[0] for c in CASES])
def test_keras_config_loads_in_lamina(case_id, factory, kind):
    theirs = factory(keras.metrics)
    config = keras.metrics.serialize(theirs)
    ours = lamina.metrics.deserialize(json.loads(json.dumps(config)))
    assert type(ours).__name__ == type(theirs).__name__
    assert _normalize(ours.get_config()) == _normalize(theirs.get_config())


def test_metric_functions_match_keras():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, size=(5, 3)).astype("float32")
    y_pred = rng.uniform(size=(5, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(5,)).astype("float32")
    # (The loss functions are compared in tests/losses; the metric classes wrapping them above.)
    for name in ("binary_accuracy", "categorical_accuracy", "top_k_categorical_accuracy"):
        np.testing.assert_allclose(getattr(lamina.metrics, name)(y_true, y_pred),
                                   getattr(keras.metrics, name)(y_true, y_pred),
                                   rtol=1e-6, atol=1e-6, err_msg=name)
    for name in ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        np.testing.assert_allclose(getattr(lamina.metrics, name)(labels, y_pred),
                                   getattr(keras.metrics, name)(labels, y_pred),
                                   rtol=1e-6, atol=1e-6, err_msg=name)


def test_public_names_match_keras():
    theirs = {n for n in dir(keras.metrics) if not n.startswith("_")}
    ours = set(lamina.metrics.__all__)
    assert theirs <= ours, sorted(theirs - ours)
