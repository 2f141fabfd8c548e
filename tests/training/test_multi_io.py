"""Several inputs and outputs: lists and dicts for x, y, sample weights and every compile
argument, Keras 3's log names (`out1_loss`, `out2_mae`, ...), evaluate's order, predict's
structure."""

import numpy as np
import pytest

import lamina
from lamina.training.compile_utils import CompileMetrics, OutputLayout

from .conftest import snapshot

ROWS = 12


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=(ROWS, 3)).astype("float32")
    x2 = rng.normal(size=(ROWS, 2)).astype("float32")
    y1 = rng.normal(size=(ROWS, 1)).astype("float32")
    y2 = rng.normal(size=(ROWS, 2)).astype("float32")
    return x1, x2, y1, y2


def _two_in_two_out():
    in1, in2 = lamina.Input((3,), name="in1"), lamina.Input((2,), name="in2")
    joined = lamina.layers.Concatenate()([in1, in2])
    out1 = lamina.layers.Dense(1, name="out1")(joined)
    out2 = lamina.layers.Dense(2, name="out2")(joined)
    return lamina.Model([in1, in2], [out1, out2])


@pytest.fixture(scope="module")
def two_outputs():
    model = _two_in_two_out()
    model.compile(optimizer=lamina.optimizers.SGD(0.05),
                  loss={"out2": "mae", "out1": "mse"}, loss_weights={"out1": 1.0, "out2": 0.5},
                  metrics={"out1": ["mae", "mse"], "out2": "mse"},
                  weighted_metrics={"out1": ["mae"]})
    model.optimizer.build(model.trainable_variables)
    return snapshot(model)


def _numpy_outputs(model, x1, x2):
    w1, b1, w2, b2 = (w.astype(np.float64) for w in model.get_weights())
    joined = np.concatenate([x1, x2], axis=1).astype(np.float64)
    return joined @ w1 + b1, joined @ w2 + b2


def test_keras_names_and_numbers_for_two_outputs(two_outputs):
    model = two_outputs.restore()
    x1, x2, y1, y2 = _data()
    p1, p2 = _numpy_outputs(model, x1, x2)
    logs = model.evaluate([x1, x2], [y1, y2], batch_size=5, verbose=0, return_dict=True)
    expected = {
        "out1_loss": np.mean((p1 - y1) ** 2), "out2_loss": np.mean(np.abs(p2 - y2)),
        "out1_mae": np.mean(np.abs(p1 - y1)), "out1_mse": np.mean((p1 - y1) ** 2),
        "out2_mse": np.mean((p2 - y2) ** 2), "out1_weighted_mae": np.mean(np.abs(p1 - y1)),
    }
    expected["loss"] = expected["out1_loss"] + 0.5 * expected["out2_loss"]
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5, err_msg=key)
    # Keras's list order: the loss, the per-output losses in the order of the loss dict,
    # then the per-output metrics sorted by name.
    as_list = model.evaluate([x1, x2], [y1, y2], batch_size=5, verbose=0)
    order = ["loss", "out2_loss", "out1_loss", "out1_mae", "out1_mse", "out1_weighted_mae",
             "out2_mse"]
    np.testing.assert_allclose(as_list, [expected[k] for k in order], rtol=1e-5)


def test_dict_inputs_targets_and_weights_match_lists(two_outputs):
    x1, x2, y1, y2 = _data()
    weights1 = np.linspace(0.5, 1.5, ROWS).astype("float32")
    weights2 = np.linspace(2.0, 0.0, ROWS).astype("float32")
    results = []
    for x, y, sw in (([x1, x2], [y1, y2], [weights1, weights2]),
                     ({"in1": x1, "in2": x2}, {"out1": y1, "out2": y2},
                      {"out2": weights2, "out1": weights1})):
        model = two_outputs.restore()
        history = model.fit(x, y, sample_weight=sw, batch_size=6, epochs=2, shuffle=False,
                            verbose=0)
        results.append((model.get_weights(), history.history))
    for left, right in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(left, right)
    assert results[0][1] == results[1][1]
    assert sorted(results[0][1]) == sorted(
        ["loss", "out1_loss", "out2_loss", "out1_mae", "out1_mse", "out2_mse",
         "out1_weighted_mae"])


def test_a_single_sample_weight_applies_to_every_output(two_outputs):
    model = two_outputs.restore()
    x1, x2, y1, y2 = _data()
    weights = np.linspace(0.0, 1.0, ROWS).astype("float32")
    shared = model.evaluate([x1, x2], [y1, y2], sample_weight=weights, batch_size=5,
                            verbose=0, return_dict=True)
    per_output = model.evaluate([x1, x2], [y1, y2], sample_weight=[weights, weights],
                                batch_size=5, verbose=0, return_dict=True)
    assert shared == per_output
    p1, _ = _numpy_outputs(model, x1, x2)
    np.testing.assert_allclose(shared["out1_weighted_mae"],
                               np.sum(weights * np.abs(p1 - y1)[:, 0]) / weights.sum(),
                               rtol=1e-5)


def test_predict_keeps_the_output_structure(two_outputs):
    model = two_outputs.restore()
    x1, x2, _, _ = _data()
    p1, p2 = _numpy_outputs(model, x1, x2)
    for batch_size in (5, 32):  # batched with a partial batch, and in one small call
        outputs = model.predict({"in1": x1, "in2": x2}, batch_size=batch_size, verbose=0)
        assert isinstance(outputs, list) and len(outputs) == 2
        assert all(isinstance(o, np.ndarray) for o in outputs)
        np.testing.assert_allclose(outputs[0], p1, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outputs[1], p2, rtol=1e-5, atol=1e-6)


class DictOutputs(lamina.Model):
    def __init__(self):
        super().__init__()
        self.first = lamina.layers.Dense(1)
        self.second = lamina.layers.Dense(2)

    def call(self, inputs):
        return {"zz": self.first(inputs), "aa": {"inner": self.second(inputs)}}


def test_subclassed_model_with_nested_dict_outputs():
    model = DictOutputs()
    model.compile(optimizer="sgd", loss={"zz": "mse", "aa/inner": "mae"},
                  metrics={"zz": "mae"})
    x1, _, y1, y2 = _data()
    history = model.fit(x1, {"zz": y1, "aa": {"inner": y2}}, batch_size=4, verbose=0)
    assert sorted(history.history) == ["aa/inner_loss", "loss", "zz_loss", "zz_mae"]
    outputs = model.predict(x1, batch_size=5, verbose=0)
    assert sorted(outputs) == ["aa", "zz"] and outputs["aa"]["inner"].shape == (ROWS, 2)


def test_output_layout_names():
    spec = np.zeros((2, 1))
    assert OutputLayout(spec).names == ["output_1"]
    assert OutputLayout([spec, spec]).names == ["output_1", "output_2"]
    assert OutputLayout([spec, spec], ["a", "b"]).names == ["a", "b"]
    assert OutputLayout({"b": spec, "a": spec}, ["x", "y"]).names == ["a", "b"]
    assert OutputLayout([spec, spec], ["same", "same"]).names == ["same", "same_1"]


def test_output_layout_spreads_compile_arguments():
    layout = OutputLayout([np.zeros((2, 1))] * 2, ["out1", "out2"])
    assert layout.spread("mse", "loss") == ["mse", "mse"]
    assert layout.spread({"out2": "mae"}, "loss") == [None, "mae"]
    assert layout.spread(["mae", "mse"], "metrics") == ["mae", "mse"]  # one per output
    assert layout.spread(["mae"], "metrics") == [["mae"], ["mae"]]  # tf.keras: all outputs
    with pytest.raises(ValueError, match="names outputs \\['nope'\\].*out1"):
        layout.spread({"nope": "mse"}, "loss")
    with pytest.raises(ValueError, match="3 entries.*2 outputs"):
        layout.spread(["mse"] * 3, "loss")
    with pytest.raises(ValueError, match="single array.*2 outputs"):
        layout.align(np.zeros((2, 1)), "y")
    single = OutputLayout(np.zeros((2, 1)), ["out"])
    assert single.spread(["mae", "mse"], "metrics") == [["mae", "mse"]]


def test_metric_names_follow_keras_deduplication():
    layout = OutputLayout([np.zeros((2, 1))] * 2, ["out1", "out2"])
    metrics = CompileMetrics({"out1": ["mae", "mae"]}, {"out1": ["mae", "mae"], "out2": "mae"})
    metrics.build([np.zeros((2, 1))] * 2, [np.zeros((2, 1))] * 2, layout)
    assert [m.name for m in metrics.metrics] == [
        "out1_mae", "out1_mae_1", "out1_weighted_mae", "out1_weighted_mae_1", "out2_mae"]
    single = OutputLayout(np.zeros((2, 1)))
    metrics = CompileMetrics(["mae"], ["mae", "mse"])
    metrics.build(np.zeros((2, 1)), np.zeros((2, 1)), single)
    assert [m.name for m in metrics.metrics] == ["mae", "weighted_mae", "mse"]


def test_shared_metric_object_for_several_outputs_is_refused():
    layout = OutputLayout([np.zeros((2, 1))] * 2, ["out1", "out2"])
    shared = lamina.metrics.MeanAbsoluteError()
    metrics = CompileMetrics([shared])
    with pytest.raises(ValueError, match="several outputs"):
        metrics.build([np.zeros((2, 1))] * 2, [np.zeros((2, 1))] * 2, layout)
