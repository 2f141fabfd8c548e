"""Operations in functional graphs (issue 16, items 3 and 5): Python operators and `keras.ops`
calls on symbolic tensors record the operation nodes Keras 3 records, configs name Keras's
classes (`keras.src.ops.numpy.NotEqual`), and files move both ways. Side-by-side checks run
Keras 3.15 (JAX backend) when it is installed."""

import importlib.util
import json
import os
import pathlib

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from lamina.layers._op_table import ALIASES, OPS

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _node_class(tensor):
    return type(tensor._keras_history.operation).__name__


def test_the_op_table_is_what_the_installed_keras_records(keras3):
    spec = importlib.util.spec_from_file_location("keras_op_table",
                                                  ROOT / "scripts" / "keras_op_table.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.build_table() == OPS
    assert generator.build_aliases() == ALIASES


def test_operators_record_the_nodes_keras_records():
    x = lamina.Input((3,))
    positive = x > 0
    recorded = {
        "Add": x + 1, "Subtract": 1 - x, "Multiply": x * 2.0, "TrueDivide": x / 2,
        "FloorDivide": x // 2, "Mod": x % 2, "Power": x ** 2, "Matmul": x @ np.ones((3, 2)),
        "Negative": -x, "Absolute": abs(x), "Less": x < 0, "LessEqual": x <= 0,
        "Greater": positive, "GreaterEqual": x >= 0, "NotEqual": x != 0,
        "LogicalAnd": positive & positive, "LogicalOr": positive | positive,
        "LogicalXor": positive ^ positive, "LogicalNot": ~positive, "Round": round(x),
        "GetItem": x[:, 0], "Reshape": x.reshape((-1, 1)), "Squeeze": x[:, :1].squeeze(),
    }
    for class_name, tensor in recorded.items():
        assert _node_class(tensor) == class_name
    # As in Keras, `==` is not an operation: it compares the tensors themselves.
    assert (x == 0) is False and (x == x) is True and {x: 1}[x] == 1
    assert ops.shape(x) == (None, 3) and ops.dtype(x) == "float32"


def _many_ops(k):
    o = k.ops
    a, b = k.Input((4, 3), name="a"), k.Input((4, 3), name="b")
    outputs = [
        a[:, 0], a * 2.0, o.mean(a, axis=1), a != 0, o.cast(a, "int32"),
        o.concatenate([a, b], axis=-1), o.reshape(a, (-1, 12)),
        o.einsum("btc,btc->bt", a, b), a[..., None, 1:2], o.where(a > 0, a, b), round(a),
        ~(a > 0), a.reshape((-1, 3)), o.sum(a, axis=(1, 2)), 3 - a, o.stack([a, b]),
        o.softmax(a), o.clip(a, 0.0, 1.0), a / 2, a // 2, a % 2, a ** 2, -a, abs(a),
        (a > 0) & (b > 0), (a > 0) | (b > 0), (a > 0) ^ (b > 0), o.top_k(a, 2)[0],
        o.dot_product_attention(a[:, :, None], b[:, :, None], b[:, :, None], is_causal=True),
        o.layer_normalization(a), k.layers.Dense(2, name="dense")(o.abs(a)),
    ]
    return k.Model([a, b], outputs, name="many_ops")


def _masked_text(k):
    tokens = k.Input((None,), dtype="int32", name="tokens")
    embedded = k.layers.Embedding(10, 4, mask_zero=True, name="embed")(tokens)
    hidden = k.layers.Dense(3, name="hidden")(embedded)
    pooled = k.layers.GlobalAveragePooling1D(name="pool")(hidden)
    steps = k.layers.Masking(name="masking")(hidden)
    joined = k.layers.Concatenate(name="join")([hidden, steps])
    return k.Model(tokens, [k.layers.Dense(1, name="out")(pooled),
                            k.layers.GlobalAveragePooling1D(name="pool2")(joined)],
                   name="masked_text")


DATA = {
    "many_ops": [np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32"),
                 np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")],
    "masked_text": np.array([[3, 7, 2, 0], [5, 0, 0, 0]], "int32"),
}


def _outputs(model, data):
    return [np.asarray(x) for x in model(data)]


@pytest.mark.parametrize("build", [_many_ops, _masked_text], ids=["many_ops", "masked_text"])
def test_configs_equal_keras_and_load_both_ways(keras3, build):
    """The same code writes the same config (operation nodes, Keras's classes and names, the
    `mask` and `training` each node records), and each library loads the other's."""
    keras3.utils.clear_session()
    theirs, ours = build(keras3), build(lamina)
    config = json.loads(ours.to_json())
    # (The top level differs only by what Keras writes for its build/compile machinery.)
    assert config["config"] == json.loads(theirs.to_json())["config"]
    if build is _masked_text:
        by_name = {entry["name"]: entry for entry in config["config"]["layers"]}
        assert by_name["not_equal"]["module"] == "keras.src.ops.numpy"
        assert by_name["pool"]["inbound_nodes"][0]["kwargs"]["mask"]["config"][
            "keras_history"] == ["not_equal", 0, 0]
    ours.set_weights(theirs.get_weights())
    data = DATA[theirs.name]
    expected = _outputs(theirs, data)
    from_keras = lamina.models.model_from_json(theirs.to_json())
    from_keras.set_weights(theirs.get_weights())
    from_lamina = keras3.models.model_from_json(ours.to_json())
    from_lamina.set_weights(ours.get_weights())
    for model in (from_keras, from_lamina):
        for a, b in zip(expected, _outputs(model, data)):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_keras_archives_with_operations_move_both_ways(keras3, tmp_path):
    keras3.utils.clear_session()
    theirs = _masked_text(keras3)
    theirs.save(tmp_path / "theirs.keras")
    loaded = lamina.models.load_model(tmp_path / "theirs.keras")
    data = DATA["masked_text"]
    for a, b in zip(_outputs(theirs, data), _outputs(loaded, data)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    loaded.save(tmp_path / "ours.keras")
    again = keras3.models.load_model(tmp_path / "ours.keras")
    for a, b in zip(_outputs(theirs, data), _outputs(again, data)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_operations_are_not_layers_but_are_listed_with_them():
    x = lamina.Input((3,), name="x")
    model = lamina.Model(x, layers.Dense(2, name="dense")(x * 2.0))
    assert [layer.name for layer in model.layers] == ["x", "dense"]
    assert [op.name for op in model._operations] == ["x", "multiply", "dense"]
    assert len(model.weights) == 2
    rows = []
    model.summary(print_fn=rows.append)
    assert any("multiply (Multiply)" in row for row in rows)


def test_configs_lamina_wrote_before_still_load():
    """`lamina>OpLayer` nodes, which lamina wrote for every operation before, load as they
    did (and ops Keras has no class for are still written that way)."""
    x = lamina.Input((3,), name="x")
    config = json.loads(lamina.Model(x, x + 1.0).to_json())
    entry = next(e for e in config["config"]["layers"] if e["name"] == "add")
    entry.update(module="lamina.layers.symbolic_ops", class_name="OpLayer",
                 registered_name="lamina>OpLayer",
                 config={"name": "add", "trainable": True, "dtype": "float32",
                         "function": "add"})
    model = lamina.models.model_from_json(json.dumps(config))
    np.testing.assert_allclose(model(np.ones((2, 3), "float32")), 2.0)
    mish = ops.mish(x)
    assert _node_class(mish) == "OpLayer"  # no keras.ops.mish to record
    reloaded = lamina.models.model_from_json(lamina.Model(x, mish).to_json())
    assert reloaded(np.zeros((1, 3), "float32")).shape == (1, 3)


def test_operation_nodes_check_their_configs():
    not_equal = lamina.saving.deserialize_keras_object(
        {"module": "keras.src.ops.numpy", "class_name": "NotEqual",
         "config": {"name": "ne"}, "registered_name": "NotEqual"})
    assert not_equal.name == "ne" and not_equal.get_config() == {"name": "ne"}
    with pytest.raises(Exception, match=r"unexpected arguments \['axis'\]"):
        lamina.saving.deserialize_keras_object(
            {"module": "keras.src.ops.numpy", "class_name": "NotEqual",
             "config": {"name": "ne", "axis": 1}, "registered_name": "NotEqual"})
    x = lamina.Input((3,))
    looped = ops.fori_loop(0, 2, lambda i, v: v + 1.0, x)
    with pytest.raises(NotImplementedError, match="not plain values"):
        looped._keras_history.operation.get_config()
