"""`model_to_dot` / `plot_model`: the same graph as Keras 3.15 (boxes, labels, edges, nested
clusters), a PNG a user can open when Graphviz is installed, and errors that say what to
install when it is not."""

import os
import re
import shutil

import numpy as np
import pytest

import lamina
from lamina.utils import model_visualization

pydot = pytest.importorskip("pydot", reason="model_to_dot needs pydot (a test dependency)")
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _nested_model(k):
    inner_in = k.Input((4,), name="inner_in")
    inner = k.Model(inner_in, k.layers.Dense(2, activation="relu", name="inner_dense")(inner_in),
                    name="inner")
    seq = k.Sequential([k.Input((2,)), k.layers.Dense(3, name="s1"), k.layers.Dense(3, name="s2")],
                       name="seq")
    a, b = k.Input((4,), name="a"), k.Input((2,), name="b", dtype="float16")
    frozen = k.layers.Dense(3, name="frozen", trainable=False)
    merged = k.layers.Concatenate(name="cat")([seq(inner(a)), frozen(b)])
    return k.Model([a, b], merged, name="outer")


def _all_layers(model):
    found = [model]
    for layer in getattr(model, "layers", []):
        found += _all_layers(layer)
    return found


def _graph_text(dot, model):
    """The dot source with object ids replaced by layer names, lines sorted."""
    names = {str(id(layer)): layer.name for layer in _all_layers(model)}
    text = re.sub(r"\b\d{6,}\b", lambda m: names.get(m.group(0), "?"), dot.to_string())
    return sorted(text.splitlines())


@pytest.mark.parametrize("expand_nested", [False, True])
@pytest.mark.parametrize("options", [
    {},
    {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
     "show_trainable": True, "rankdir": "LR"},
    {"show_layer_names": False, "subgraph": True},
])
def test_graph_matches_keras(keras3, expand_nested, options):
    ours_model, theirs_model = _nested_model(lamina), _nested_model(keras3)
    ours = _graph_text(lamina.utils.model_to_dot(ours_model, expand_nested=expand_nested,
                                                 **options), ours_model)
    theirs = _graph_text(keras3.utils.model_to_dot(theirs_model, expand_nested=expand_nested,
                                                   **options), theirs_model)
    assert "?" not in "".join(ours)
    assert ours == theirs


def test_nodes_edges_shapes_and_dtypes():
    model = _nested_model(lamina)
    dot = lamina.utils.model_to_dot(model, show_shapes=True, show_dtype=True)
    labels = {node.get_name(): node.get_label() for node in dot.get_nodes()}
    by_name = {layer.name: labels[str(id(layer))] for layer in model.layers}
    assert set(by_name) == {"a", "b", "inner", "seq", "frozen", "cat"}
    assert "Input shape: <b>[(None, 3), (None, 3)]</b>" in by_name["cat"]
    assert "Output shape: <b>(None, 6)</b>" in by_name["cat"]
    assert "Output dtype: <b>float16</b>" in by_name["b"]
    edges = {(e.get_source(), e.get_destination()) for e in dot.get_edges()}
    ids = {layer.name: str(id(layer)) for layer in model.layers}
    assert edges == {(ids["a"], ids["inner"]), (ids["inner"], ids["seq"]),
                     (ids["b"], ids["frozen"]), (ids["seq"], ids["cat"]),
                     (ids["frozen"], ids["cat"])}


def test_expand_nested_draws_clusters_and_connects_inner_layers():
    model = _nested_model(lamina)
    dot = lamina.utils.model_to_dot(model, expand_nested=True)
    clusters = {graph.get_name() for graph in dot.get_subgraphs()}
    assert clusters == {"cluster_inner", "cluster_seq"}
    layers = {layer.name: str(id(layer)) for layer in _all_layers(model)}
    edges = {(e.get_source(), e.get_destination()) for e in dot.get_edges()}
    for graph in dot.get_subgraphs():
        edges |= {(e.get_source(), e.get_destination()) for e in graph.get_edges()}
    assert (layers["a"], layers["inner_in"]) in edges          # into the nested model's input
    assert (layers["inner_dense"], layers["s1"]) in edges      # out of it, into the Sequential
    assert (layers["s1"], layers["s2"]) in edges and (layers["s2"], layers["cat"]) in edges


def test_shared_layer_calls_outside_the_model_are_not_drawn():
    shared = lamina.layers.Dense(2, name="shared")
    x = lamina.Input((2,), name="x")
    lamina.Model(x, shared(shared(x)))        # another graph that uses the layer twice
    y = lamina.Input((2,), name="y")
    model = lamina.Model(y, shared(y))
    dot = lamina.utils.model_to_dot(model)
    assert len(dot.get_edges()) == 1


def test_subclassed_model_is_one_box():
    class Custom(lamina.Model):
        def __init__(self):
            super().__init__(name="custom")
            self.dense = lamina.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = Custom()
    model(np.ones((1, 2)))
    dot = lamina.utils.model_to_dot(model)
    assert [n.get_name() for n in dot.get_nodes()] == ["node", str(id(model))]


def test_unbuilt_model_and_bad_arguments():
    with pytest.raises(ValueError, match="has not yet been built"):
        lamina.utils.model_to_dot(lamina.Sequential([lamina.layers.Dense(1)]))
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    with pytest.raises(TypeError, match="keras.Model.*Received: model of type Dense"):
        lamina.utils.model_to_dot(lamina.layers.Dense(1))
    with pytest.raises(ValueError, match="rankdir='BT'"):
        lamina.utils.model_to_dot(model, rankdir="BT")
    with pytest.raises(ValueError, match="layer_range"):
        lamina.utils.model_to_dot(model, layer_range=["a", "b"])
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments.*\['colour'\]"):
        lamina.utils.plot_model(model, colour="red")


def test_without_pydot_both_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(model_visualization, "pydot", None)
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    with pytest.raises(ImportError, match=r"pip install pydot.*model_to_dot"):
        lamina.utils.model_to_dot(model)
    with pytest.raises(ImportError, match=r"pip install pydot.*plot_model"):
        lamina.utils.plot_model(model, tmp_path / "model.png")


def test_without_graphviz_plot_model_says_what_to_install(monkeypatch, tmp_path):
    """pydot is there but Graphviz's `dot` is not on the PATH (this machine may have it:
    an empty PATH hides it)."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    with pytest.raises(ImportError, match=r"install graphviz.*apt-get install graphviz"
                                          r".*not found on the PATH") as raised:
        lamina.utils.plot_model(model, tmp_path / "model.png")
    assert "pip package `graphviz` is only a Python wrapper" in str(raised.value)
    assert not (tmp_path / "model.png").exists()
    assert not model_visualization.check_graphviz()
    assert lamina.utils.model_to_dot(model) is not None  # the graph needs no Graphviz


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed; the error is "
                                         "tested above")
def test_plot_model_writes_a_png_a_user_can_open(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    model = _nested_model(lamina)
    path = tmp_path / "model.png"
    assert lamina.utils.plot_model(model, path, show_shapes=True, show_dtype=True,
                                   expand_nested=True) is None  # no IPython here
    with image_module.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100
    lamina.utils.plot_model(model, tmp_path / "model.svg")
    assert (tmp_path / "model.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match=r"'\.docx' file.*to_file="):
        lamina.utils.plot_model(model, tmp_path / "model.docx")
