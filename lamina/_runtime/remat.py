"""Rematerialization (gradient checkpointing): `keras.remat(f)` and `keras.RematScope`.

A rematerialized function keeps none of its intermediate values for the backward pass: the
gradient recomputes them from the function's inputs, trading compute for memory. JAX does the
work (`jax.checkpoint`); this module makes it safe for stateful code. `jax.checkpoint` traces
its function, so a Variable assigned inside it (a BatchNormalization's moving mean, a seed
generator's state, a metric) would leave a traced value behind, and Python arguments (a
`training` flag, a mask of `None`) cannot be traced at all. `remat` therefore runs the
function in a state scope of its own, returns what it assigned as extra outputs of the
checkpointed function and commits them outside, and passes only array arguments through the
checkpoint, keeping the others as they are.

`RematScope` chooses layers to rematerialize by where they are created, as in Keras: a layer
created inside `with RematScope(mode=...)` remembers the mode (`current_mode()`), and its
calls are rematerialized accordingly (`lamina/layers/_remat.py`).
"""

import collections
import contextvars
import functools

import jax
import numpy as np

from lamina._runtime.scope import StateScope
from lamina._runtime.state import commit
from lamina._runtime.variable import Variable

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)

RematMode = collections.namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])
RematMode.__doc__ = "The rematerialization settings a layer was created under (Keras's)."

_scopes = contextvars.ContextVar("lamina_remat_scopes", default=())


class RematScope:
    """Rematerializes the layers created inside it: their intermediate values are recomputed
    in the backward pass instead of being kept, so training takes less memory and more time.

    The mode is read when a layer is created, and applies to every later call of the layer:

    * `"full"`: every layer's call;
    * `"activations"`: only the activation function of layers that have one
      (`Dense(..., activation="gelu")`);
    * `"larger_than"`: layers whose outputs hold more than `output_size_threshold` elements;
    * `"list_of_layers"`: the layers named in `layer_names`;
    * `None`: none (inside an enclosing scope, turns it off).

    Scopes nest; the innermost applies. A rematerialized call gives the same values and
    gradients; only memory and time change.

    Args:
        mode: one of the modes above.
        output_size_threshold: for `"larger_than"`, the number of output elements (batch
            included) above which a layer is rematerialized.
        layer_names: for `"list_of_layers"`, the names of the layers to rematerialize.

    Examples:
        >>> with lamina.RematScope(mode="full"):
        ...     model = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(16),
        ...                                lamina.layers.Dense(1)])
        >>> model(np.ones((2, 8))).shape   # same outputs; gradients recompute activations
        (2, 1)
        >>> with lamina.RematScope(mode="list_of_layers", layer_names=["big"]):
        ...     big, small = lamina.layers.Dense(4, name="big"), lamina.layers.Dense(4)
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(
                "RematScope: `mode` must be one of 'full', 'activations', 'larger_than', "
                f"'list_of_layers' or None. Received: mode={mode!r}")
        if isinstance(output_size_threshold, bool) or not isinstance(
                output_size_threshold, (int, np.integer)) or output_size_threshold < 0:
            raise ValueError(
                "RematScope: `output_size_threshold` must be a non-negative integer (a number "
                f"of elements). Received: output_size_threshold={output_size_threshold!r}")
        if layer_names is None:
            layer_names = []
        if isinstance(layer_names, str) or not all(isinstance(n, str) for n in layer_names):
            raise ValueError(
                "RematScope: `layer_names` must be a list of layer names (strings). Received: "
                f"layer_names={layer_names!r}")
        if mode == "list_of_layers" and not layer_names:
            raise ValueError(
                "RematScope(mode='list_of_layers') needs the names of the layers to "
                "rematerialize. Received: layer_names=[]. Pass layer_names=['dense_1', ...].")
        self.mode = mode
        self.output_size_threshold = int(output_size_threshold)
        self.layer_names = list(layer_names)
        self._token = None

    def __enter__(self):
        self._token = _scopes.set(_scopes.get() + (self,))
        return self

    def __exit__(self, *exc_info):
        _scopes.reset(self._token)
        self._token = None
        return False


def current_mode():
    """The `RematMode` of the innermost active `RematScope`, or None (none active, or
    `mode=None`)."""
    scopes = _scopes.get()
    if not scopes or scopes[-1].mode is None:
        return None
    scope = scopes[-1]
    return RematMode(scope.mode, scope.output_size_threshold, tuple(scope.layer_names))


def remat(f):
    """Returns `f` rematerialized: calling it gives the same results, but the gradient
    recomputes `f`'s intermediate values from its inputs instead of keeping them (JAX's
    `jax.checkpoint`), which saves memory for large activations at the cost of computing
    them twice.

    `f` may be stateful lamina code: a layer, or a function calling layers. Variables it
    assigns are updated as without `remat`, and non-array arguments (`training=True`,
    `None`) are passed through as they are.

    Args:
        f: a callable.

    Examples:
        >>> heavy = lamina.remat(lambda x: jnp.sin(jnp.sin(x)) * 2.0)
        >>> float(jax.grad(lambda x: heavy(x).sum())(jnp.ones(3))[0])  # doctest: +ELLIPSIS
        0.720...
        >>> layer = lamina.layers.Dense(4)
        >>> lamina.remat(layer)(np.ones((2, 3))).shape
        (2, 4)
    """
    if not callable(f):
        raise TypeError(
            "keras.remat: `f` must be a callable (a function or a layer). Received: "
            f"f={f!r} of type {type(f).__name__}.")

    @functools.wraps(f)
    def rematerialized(*args, **kwargs):
        return checkpoint(f, args, kwargs)

    return rematerialized


def _is_array(value):
    return isinstance(value, (jax.Array, np.ndarray, jax.core.Tracer))


def _pure_version(f, args, kwargs):
    """`f` as a pure function of the array leaves of its arguments: returns `(pure, arrays,
    finish)` where `pure(arrays)` runs `f` in a state scope of its own and returns the array
    leaves of its outputs and the values it assigned, and `finish(pure's results)` commits the
    assignments and rebuilds `f`'s outputs."""
    leaves, treedef = jax.tree_util.tree_flatten(
        (args, kwargs), is_leaf=lambda x: isinstance(x, Variable))
    positions = [i for i, leaf in enumerate(leaves) if _is_array(leaf)]
    found = {}

    def pure(arrays):
        filled = list(leaves)
        for position, array in zip(positions, arrays):
            filled[position] = array
        call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
        # Reads of Variables not assigned here fall back to the enclosing scope (closed over
        # by the checkpoint); assignments stay in this scope and leave as outputs.
        with StateScope() as scope:
            outputs = f(*call_args, **call_kwargs)
        assigned = scope.assigned()
        out_leaves, out_tree = jax.tree_util.tree_flatten(outputs)
        out_positions = [i for i, leaf in enumerate(out_leaves) if _is_array(leaf)]
        found.update(out_leaves=out_leaves, out_tree=out_tree, out_positions=out_positions,
                     assigned=[variable for variable, _ in assigned])
        return [out_leaves[i] for i in out_positions], [value for _, value in assigned]

    def finish(results):
        out_arrays, new_values = results
        commit(zip(found["assigned"], new_values))
        out_leaves = list(found["out_leaves"])
        for position, array in zip(found["out_positions"], out_arrays):
            out_leaves[position] = array
        return jax.tree_util.tree_unflatten(found["out_tree"], out_leaves)

    return pure, [leaves[i] for i in positions], finish


def checkpoint(f, args, kwargs):
    """`f(*args, **kwargs)` rematerialized (see `remat`)."""
    pure, arrays, finish = _pure_version(f, args, kwargs)
    return finish(jax.checkpoint(pure)(arrays))


def output_size(f, args, kwargs):
    """The number of elements of `f(*args, **kwargs)`'s array outputs, found by tracing it
    abstractly (no FLOPs, nothing assigned)."""
    pure, arrays, _ = _pure_version(f, args, kwargs)
    outputs, _ = jax.eval_shape(pure, arrays)
    return sum(int(np.prod(o.shape)) for o in outputs)
