"""Where each object's variables live in a weights file: Keras 3's object-graph layout.

Keras 3 addresses state by walking the model's attributes, not by layer names (which are
auto-generated and differ between runs): a layer's own variables go to `<path>/vars/0, 1, ...`
(trainable first, then non-trainable, in creation order), and its children follow at
`<path>/<attribute>`; lists and dicts of children at `<path>/<attribute>/<snake_case class>`
(`dense`, `dense_1`, ...). Sequential and functional models list their layers first under
`layers/`. Attributes are visited in sorted order, public before private, skipping those every
object of the base class has, and each object is written once (where it is first met).

Following the same walk makes files written by lamina load in Keras 3 and the reverse.
"""

import functools

from lamina._runtime.naming import to_snake_case
from lamina.layers.layer import Layer
from lamina.losses import Loss
from lamina.metrics import Metric
from lamina.optimizers import SGD, Optimizer


def _kind(obj):
    """Keras's object type for saveable objects (None for anything else).

    Models sit above this package, so `Sequential` and `Functional` are not imported here:
    they name their kind in the class attribute `_object_graph_kind` (any other layer,
    subclassed models included, is a "Layer").
    """
    if isinstance(obj, Layer):
        return getattr(obj, "_object_graph_kind", "Layer")
    for cls, kind in ((Optimizer, "Optimizer"), (Metric, "Metric"), (Loss, "Loss")):
        if isinstance(obj, cls):
            return kind
    return None


# Attributes that hold lamina's own bookkeeping (caches, compiled programs, the graph that a
# Sequential model wraps) rather than state: never part of the file layout.
_INTERNAL = frozenset({
    "_functional", "_layer_stack", "_flat_layers_cache", "_programs", "_tracker", "_owners",
    "_version", "_compiled_calls", "_op_by_op_calls",
    "_inbound_nodes", "_compile_loss", "_compile_metrics", "_loss_tracker", "_nodes",
    "_flat_inputs", "_flat_outputs", "_inputs_struct", "_outputs_struct", "history",
})


@functools.lru_cache(maxsize=None)
def _skipset(kind):
    skip = set(_INTERNAL)
    if kind in ("Layer", "Functional", "Sequential"):
        skip.update(dir(Layer(name="lamina_reference_layer")))
        skip.update(("operations", "_operations"))
    elif kind == "Optimizer":
        skip.update(dir(SGD(1.0, name="lamina_reference_optimizer")))
        skip.discard("variables")
    elif kind == "Metric":
        skip.update(dir(Metric))
    elif kind == "Loss":
        skip.update(dir(Loss))
    return frozenset(skip)


def _sort_key(name):
    return f"~{name}" if name.startswith("_") else name


def _children(obj, kind):
    if kind in ("Sequential", "Functional"):
        yield "layers", obj.layers
    skip = _skipset(kind)
    for name in sorted(dir(obj), key=_sort_key):
        if name.startswith("__") or name in skip:
            continue
        try:
            child = getattr(obj, name)
        except Exception:
            continue
        yield name, child


def own_variables(obj, kind):
    """The variables an object writes at `<path>/vars`, in Keras's order."""
    if kind in ("Layer", "Functional", "Sequential"):
        # Quantized layers store their variables in Keras's order for their mode.
        ordered = getattr(obj, "_variables_in_saved_order", None)
        ordered = ordered() if callable(ordered) else None
        if ordered is not None:
            return ordered
        return list(obj._trainable_variables) + list(obj._non_trainable_variables)
    if kind == "Optimizer":
        return list(obj.variables)
    return None  # metrics and losses have no `vars` group


def walk(root):
    """Yields `(path, object, kind)` for every saveable object, in the order Keras writes them."""
    visited = set()

    def visit(obj, path):
        kind = _kind(obj)
        if kind is None or id(obj) in visited:
            return
        visited.add(id(obj))
        yield path, obj, kind
        for name, child in _children(obj, kind):
            child_path = f"{path}/{name}" if path else name
            if _kind(child) is not None:
                yield from visit(child, child_path)
            elif isinstance(child, (list, tuple, dict)):
                yield from visit_container(child, child_path, set())

    def visit_container(container, path, seen_containers):
        if id(container) in seen_containers:
            return
        seen_containers.add(id(container))
        used = {}
        items = list(container.values()) if isinstance(container, dict) else container
        for item in items:
            if _kind(item) is not None:
                name = _unique(to_snake_case(type(item).__name__), used)
                yield from visit(item, f"{path}/{name}")
            elif isinstance(item, (list, tuple, dict)):
                name = _unique("container", used)
                yield from visit_container(item, f"{path}/{name}", seen_containers)

    yield from visit(root, "")


def _unique(name, used):
    count = used.get(name, 0)
    used[name] = count + 1
    return name if count == 0 else f"{name}_{count}"
