"""`keras.utils.model_to_dot` and `keras.utils.plot_model`: a model's graph drawn by Graphviz.

The graph is built with pydot (`pip install pydot`) in Keras's layout: one box per layer with
its name, class and, on request, its activation, input and output shapes, dtype and whether it
trains; an edge per connection; nested models drawn as one box or, with `expand_nested=True`,
as a dashed cluster of their own layers. Writing an image (`plot_model`) runs Graphviz's `dot`
program, which is not a Python package: it comes from the system's package manager.
"""

import html
import os
import sys

import jax

from lamina.layers.symbolic import is_symbolic
from lamina.models import Functional, Model, Sequential

try:
    import pydot
except ImportError:  # an optional dependency: only these two functions need it
    pydot = None

_PYDOT_MISSING = (
    "You must install pydot (`pip install pydot`) for `{function}` to work. It also needs "
    "Graphviz's `dot` program to write an image: see https://graphviz.org/download/ "
    "(`apt-get install graphviz`, `brew install graphviz` or `conda install graphviz`).")
_GRAPHVIZ_MISSING = (
    "You must install graphviz (see instructions at https://graphviz.org/download/: "
    "`apt-get install graphviz`, `brew install graphviz` or `conda install graphviz`) for "
    "`plot_model` to work: pydot is installed, but Graphviz's `dot` program was not found on "
    "the PATH ({reason}). The pip package `graphviz` is only a Python wrapper and does not "
    "provide it. `keras.utils.model_to_dot(model)` builds the graph without Graphviz.")


def check_pydot():
    """Whether pydot can be imported.

    Examples:
        >>> isinstance(check_pydot(), bool)
        True
    """
    return pydot is not None


def check_graphviz():
    """Whether pydot is installed and Graphviz's `dot` program runs.

    Examples:
        >>> isinstance(check_graphviz(), bool)
        True
    """
    return _graphviz_problem() is None


def _graphviz_problem():
    """None when `dot` runs; otherwise why not, in words."""
    if pydot is None:
        return "pydot is not installed"
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, pydot.PydotException) as error:
        return str(error) or type(error).__name__
    return None


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, splines="ortho", **kwargs):
    """The graph of a model as a `pydot.Dot` (needs pydot, not Graphviz).

    Sequential and functional models show one box per layer and an edge per connection; a
    subclassed model is one box, since its `call` is Python code, not a graph.

    Args:
        model: a built `keras.Model`.
        show_shapes: whether boxes show each layer's input and output shapes.
        show_dtype: whether boxes show each layer's output dtype.
        show_layer_names: whether boxes show layer names (the class name always shows).
        rankdir: `"TB"` (top to bottom) or `"LR"` (left to right), Graphviz's `rankdir`.
        expand_nested: whether nested Sequential and functional models are drawn as clusters
            of their layers instead of one box.
        dpi: the resolution of an image made from the graph.
        subgraph: whether to return a `pydot.Cluster` (for drawing inside another graph).
        show_layer_activations: whether boxes show the activation of layers that have one.
        show_trainable: whether boxes of layers with weights say if they train.
        splines: how Graphviz draws edges: `"ortho"` (right angles), `"curved"`,
            `"polyline"`, `"spline"` or `"line"`.

    Returns:
        A `pydot.Dot`, or a `pydot.Cluster` with `subgraph=True`.

    Raises:
        ImportError: pydot is not installed; the message says what to install.
        ValueError: the model is not built, or an argument is unknown.

    Examples:
        >>> inputs = lamina.Input((3,), name="features")
        >>> model = lamina.Model(inputs, lamina.layers.Dense(2, name="head")(inputs))
        >>> dot = lamina.utils.model_to_dot(model, show_shapes=True)
        >>> len(dot.get_nodes()), len(dot.get_edges())  # the defaults' node, then 2 layers
        (3, 1)
    """
    if not isinstance(model, Model):
        raise TypeError(
            "model_to_dot expects a keras.Model (Sequential, functional or subclassed). "
            f"Received: model of type {type(model).__name__}")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not yet been built, so it has no graph to draw. Build "
            "the model first by calling `build()` or by calling the model on a batch of data.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(
            f"Unrecognized keyword arguments for model_to_dot: {sorted(kwargs)}.")
    if rankdir not in ("TB", "LR"):
        raise ValueError(
            f"model_to_dot's `rankdir` must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    if pydot is None:
        raise ImportError(_PYDOT_MISSING.format(function="model_to_dot"))

    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")

    label_options = {
        "show_layer_names": show_layer_names, "show_layer_activations": show_layer_activations,
        "show_dtype": show_dtype, "show_shapes": show_shapes, "show_trainable": show_trainable,
    }
    if isinstance(model, Sequential):
        layers = model.layers
    elif isinstance(model, Functional):
        layers = list(model._operations)  # the layers and the graph's operations, as Keras
    else:  # a subclassed model: its call is code, not a graph
        dot.add_node(_make_node(model, **label_options))
        return dot

    for layer in layers:
        if expand_nested and isinstance(layer, (Functional, Sequential)):
            dot.add_subgraph(model_to_dot(
                layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                subgraph=True, show_layer_activations=show_layer_activations,
                show_trainable=show_trainable))
        else:
            dot.add_node(_make_node(layer, **label_options))

    if isinstance(model, Sequential):
        if not expand_nested:
            for before, after in zip(layers, layers[1:]):
                _add_edge(dot, before, after)
            return dot
        # The first layer's incoming edge is drawn by the enclosing graph (to the Sequential
        # model itself), since its input layer has no box.
        layers = layers[1:]

    graph_nodes = {id(node) for node in _graph_nodes(model)}
    for layer in layers:
        for node in layer._inbound_nodes:
            if id(node) not in graph_nodes:
                continue  # a call of a shared layer in another graph
            for input_index, tensor in enumerate(node.input_tensors):
                history = tensor._keras_history
                if history is None:
                    continue
                source, output_index, destination = history.operation, history.tensor_index, layer
                if not expand_nested:
                    _add_edge(dot, source, destination)
                    continue
                # Nested models have no boxes of their own when expanded: an edge leaving
                # one starts at the layer that makes that output, and an edge entering one
                # ends at its input layer (functional) or first layer (Sequential).
                while isinstance(source, (Functional, Sequential)):
                    history = source.outputs[output_index]._keras_history
                    source, output_index = history.operation, history.tensor_index
                while isinstance(destination, (Functional, Sequential)):
                    if isinstance(destination, Functional):
                        destination = destination.inputs[input_index]._keras_history.operation
                    else:
                        destination = destination.layers[0]
                _add_edge(dot, source, destination)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho", **kwargs):
    """Draws a model's graph into an image file (PNG by default) with Graphviz.

    Needs pydot (`pip install pydot`) and Graphviz's `dot` program (from the system's package
    manager: `apt-get install graphviz`, `brew install graphviz`, `conda install graphviz`);
    without them it raises an `ImportError` saying what to install (in a notebook it prints
    that message and returns None instead, as Keras does). The arguments are
    `model_to_dot`'s; the file's extension picks the format (`.png`, `.svg`, `.pdf`, ...).

    Args:
        model: a built `keras.Model`.
        to_file: the image's path; its extension is the format (none: PNG).
        show_shapes: whether boxes show input and output shapes.
        show_dtype: whether boxes show output dtypes.
        show_layer_names: whether boxes show layer names.
        rankdir: `"TB"` (top to bottom) or `"LR"` (left to right).
        expand_nested: whether nested models are drawn as clusters of their layers.
        dpi: the image's resolution.
        show_layer_activations: whether boxes show activations.
        show_trainable: whether boxes of layers with weights say if they train.
        splines: how edges are drawn (`"ortho"`, `"curved"`, `"polyline"`, `"spline"`,
            `"line"`).

    Returns:
        An `IPython.display.Image` of the file when IPython is installed (so a notebook shows
        it) and the format is not PDF; otherwise None.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> lamina.utils.plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    if not isinstance(model, Model):
        raise TypeError(
            "plot_model expects a keras.Model (Sequential, functional or subclassed). "
            f"Received: model of type {type(model).__name__}")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not yet been built, so it has no graph to draw. Build "
            "the model first by calling `build()` or by calling the model on a batch of data.")
    to_file = os.fspath(to_file)
    if not isinstance(to_file, str):
        raise TypeError(
            f"plot_model's `to_file` must be a path. Received: to_file={to_file!r}")
    # The caller's own mistakes are reported whatever is installed, before pydot and Graphviz.
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for plot_model: {sorted(kwargs)}.")
    if pydot is None:
        return _missing(_PYDOT_MISSING.format(function="plot_model"))
    problem = _graphviz_problem()
    if problem is not None:
        return _missing(_GRAPHVIZ_MISSING.format(reason=problem))
    extension = os.path.splitext(to_file)[1][1:] or "png"
    formats = pydot.Dot().formats
    if extension not in formats:
        raise ValueError(
            f"plot_model cannot write a '.{extension}' file: the extension of `to_file` picks "
            f"the image format, one of Graphviz's ({', '.join(sorted(formats))}). Received: "
            f"to_file={to_file!r}")
    dot = model_to_dot(
        model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
        rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
        show_layer_activations=show_layer_activations, show_trainable=show_trainable,
        splines=splines)
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display  # optional: only to show the image in a notebook
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None


def _missing(message):
    # Keras prints instead of raising inside IPython, so a notebook that plots keeps running.
    if "IPython.core.magics.namespace" in sys.modules:
        print(message)
        return None
    raise ImportError(message)


def _graph_nodes(model):
    """The layer calls (nodes) that belong to a Sequential or functional model's graph."""
    if isinstance(model, Sequential):
        model = model._functional
    return model._nodes if model is not None else []


def _add_edge(dot, source, destination):
    source_id, destination_id = str(id(source)), str(id(destination))
    if not dot.get_edge(source_id, destination_id):
        edge = pydot.Edge(source_id, destination_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _make_node(layer, **options):
    node = pydot.Node(str(id(layer)), label=_layer_label(layer, **options))
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    return node


def _activation_name(layer):
    activation = layer.activation
    for attribute in ("name", "__name__"):
        name = getattr(activation, attribute, None)
        if isinstance(name, str):
            return name
    return str(activation)


def _structure_of(tensors, read):
    """`read(tensor)` for each symbolic tensor, in the structure of `tensors`."""
    return jax.tree_util.tree_map(read, tensors, is_leaf=is_symbolic)


def _format_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        text = ", ".join(f"{key}: {value}" for key, value in shape.items())
    else:
        text = f"{shape}"
    return text.replace("{", "").replace("}", "")


def _layer_label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes,
                 show_trainable):
    """Keras's HTML-like label: a title row, an activation row, then a row of cells."""
    class_name = type(layer).__name__
    escape = html.escape
    span = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{escape(layer.name)}</b> ({class_name})" if show_layer_names \
        else f"<b>{class_name}</b>"
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
            f"{title}</font></td></tr>"]
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        rows.append(f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">'
                    f"Activation: <b>{escape(_activation_name(layer))}</b></font></td></tr>")
    cells = []
    if show_shapes:
        input_shape = output_shape = None
        try:
            input_shape = _structure_of(layer.input, lambda tensor: tensor.shape)
            output_shape = _structure_of(layer.output, lambda tensor: tensor.shape)
        except (ValueError, AttributeError):
            pass
        if class_name != "InputLayer":
            cells.append('<td bgcolor="white"><font point-size="14">'
                         f"Input shape: <b>{escape(_format_shape(input_shape))}</b></font></td>")
        cells.append('<td bgcolor="white"><font point-size="14">'
                     f"Output shape: <b>{escape(_format_shape(output_shape))}</b></font></td>")
    if show_dtype:
        dtype = None
        try:
            dtype = _structure_of(layer.output, lambda tensor: tensor.dtype)
        except (ValueError, AttributeError):
            pass
        cells.append('<td bgcolor="white"><font point-size="14">'
                     f"Output dtype: <b>{escape(str(dtype or '?'))}</b></font></td>")
    if show_trainable and layer.weights:
        if layer.trainable:
            cells.append('<td bgcolor="forestgreen"><font point-size="14" color="white">'
                         "<b>Trainable</b></font></td>")
        else:
            cells.append('<td bgcolor="firebrick"><font point-size="14" color="white">'
                         "<b>Non-trainable</b></font></td>")
    if cells:
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
            + "".join(rows) + "</table>>")
