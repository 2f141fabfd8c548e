"""`model.summary()`: a table of layers, output shapes and parameter counts, as Keras 3 draws it."""

import textwrap

import numpy as np

from lamina.layers.symbolic import KerasTensor


def _readable_size(num_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} GB"


def _count(variables):
    count = sum(int(np.prod(v.shape, dtype=np.int64)) for v in variables)
    size = sum(int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype).itemsize
               for v in variables)
    return count, size


def _format_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape and
                                   isinstance(shape[0], (tuple, list, dict))):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _free_batch(shape):
    if isinstance(shape, tuple) and shape and not isinstance(shape[0], (tuple, list, dict)):
        return (None,) + shape[1:]
    if isinstance(shape, list):
        return [_free_batch(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _free_batch(v) for k, v in shape.items()}
    return shape


def _rows(model):
    """(name and type, output shape, params, connections) for each row of the table."""
    # A functional model is its own graph, a Sequential one wraps one (once built), a
    # subclassed model has none. The model classes call this module, so they are told apart
    # by the kind they declare rather than imported.
    functional = getattr(model, "_object_graph_kind", None) == "Functional"
    graph = model if functional else getattr(model, "_functional", None)
    nodes_of = {}  # id(layer) -> its nodes in the graph, in call order
    for node in graph._nodes if graph is not None else ():
        nodes_of.setdefault(id(node.operation), []).append(node)
    # As in Keras: a graph with several inputs, a node with several inputs, or a layer called
    # at several places is not a chain, so the table says what feeds each layer.
    show_connections = functional and (
        len(model.inputs) > 1 or any(len(n.input_tensors) > 1 for n in model._nodes)
        or any(len(nodes) > 1 for nodes in nodes_of.values()))
    rows = []
    seen = {}  # id(layer) -> how many rows it had (a Sequential lists a shared layer per place)
    # A functional model lists its graph's operations too (`not_equal`, `multiply`), as Keras.
    for layer in model._operations if functional else model.layers:
        shape = None
        connections = []
        nodes = nodes_of.get(id(layer), [])
        if nodes:
            place = seen.get(id(layer), 0)
            seen[id(layer)] = place + 1
            # A Sequential's row shows its own call; a functional row (one per layer) shows
            # its last call, as Keras does, and what fed each of its calls.
            node = nodes[min(place, len(nodes) - 1)] if not functional else nodes[-1]
            outputs = node.outputs
            shape = (outputs.shape if isinstance(outputs, KerasTensor) else
                     [t.shape for t in node.output_tensors])
            for fed in nodes:
                for tensor in fed.input_tensors:
                    history = tensor._keras_history
                    connections.append(
                        f"{history.operation.name}[{history.node_index}]"
                        f"[{history.tensor_index}]")
        if shape is None:  # not a graph: show what the last call produced, batch axis free
            shape = _free_batch(getattr(layer, "_seen_output_shape", None))
        params = layer.count_params() if layer.built else 0
        rows.append((f"{layer.name} ({type(layer).__name__})", _format_shape(shape),
                     f"{params:,}" if params else "0", ", ".join(connections) or "-"))
    return rows, show_connections


def _table(headers, rows, widths, right_aligned):
    def cells(values):
        wrapped = [textwrap.wrap(v, w - 2, break_on_hyphens=False) or [""]
                   for v, w in zip(values, widths)]
        height = max(len(w) for w in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for column, (lines_of_cell, width) in enumerate(zip(wrapped, widths)):
                text = lines_of_cell[i] if i < len(lines_of_cell) else ""
                text = text.rjust(width - 2) if column in right_aligned else text.ljust(width - 2)
                parts.append(f" {text} ")
            lines.append(parts)
        return lines

    out = ["┏" + "┳".join("━" * w for w in widths) + "┓"]
    for parts in cells(headers):
        out.append("┃" + "┃".join(parts) + "┃")
    out.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    for index, row in enumerate(rows):
        if index:
            out.append("├" + "┼".join("─" * w for w in widths) + "┤")
        for parts in cells(row):
            out.append("│" + "│".join(parts) + "│")
    out.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return out


def summary_text(model, line_length=None, show_trainable=False):
    rows, show_connections = _rows(model)
    if show_connections:
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        widths = [21, 19, 12, 19]
    else:
        headers = ["Layer (type)", "Output Shape", "Param #"]
        widths = [33, 24, 15]
        rows = [row[:3] for row in rows]
    if line_length is not None:
        scale = line_length / (sum(widths) + len(widths) + 1)
        widths = [max(8, int(w * scale)) for w in widths]
    lines = [f'Model: "{model.name}"']
    lines += _table(headers, rows, widths, right_aligned={2})
    total, total_size = _count(model.weights)
    trainable, trainable_size = _count(model.trainable_weights)
    non_trainable, non_trainable_size = _count(model.non_trainable_weights)
    lines.append(f" Total params: {total:,} ({_readable_size(total_size)})")
    lines.append(f" Trainable params: {trainable:,} ({_readable_size(trainable_size)})")
    lines.append(f" Non-trainable params: {non_trainable:,} "
                 f"({_readable_size(non_trainable_size)})")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "variables", None):
        count, size = _count(optimizer.variables)
        lines.append(f" Optimizer params: {count:,} ({_readable_size(size)})")
    return "\n".join(lines) + "\n"


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    text = summary_text(model, line_length=line_length, show_trainable=show_trainable)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
