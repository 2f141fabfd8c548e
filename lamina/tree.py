"""`keras.tree`: walking nested structures of lists, tuples, dicts and namedtuples.

The functions follow Keras 3's rules exactly, because Keras implements them on the same
library: `optree`, with `None` a leaf (unless `map_structure(..., none_is_leaf=False)`),
dicts walked in sorted-key order (`OrderedDict` in insertion order), namedtuples as nodes,
and every other object (arrays, Variables, strings, sets, list subclasses) a leaf. Lists and
dicts that a layer wraps for tracking (`self.blocks = [...]`) are nodes too, as in Keras.

A user's structure is walked by `optree`'s C++ code rather than Python recursion, so wide
structures cost little; one nested past optree's depth bound (about 1,000 levels) raises a
`RecursionError` instead of crashing the interpreter.

Examples:
    >>> lamina.tree.flatten({"b": [1, (2, None)], "a": 3})
    [3, 1, 2, None]
    >>> lamina.tree.map_structure(lambda x: x * 10, {"b": [1, 2], "a": 3})
    {'b': [10, 20], 'a': 30}
"""

import optree

from lamina._runtime.tracking import TrackedDict, TrackedList

# Registrations of this module's own node types live in a namespace of their own, so that they
# change nothing for other users of optree in the process.
_NAMESPACE = "lamina"

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
    "is_nested", "lists_to_tuples", "map_shape_structure", "map_structure",
    "map_structure_up_to", "pack_sequence_as", "traverse",
]


def _flatten_tracked_list(value):
    return list(value), None, tuple(range(len(value)))


def _flatten_tracked_dict(value):
    keys = sorted(value)
    return [value[key] for key in keys], keys, tuple(keys)


optree.register_pytree_node(
    TrackedList, _flatten_tracked_list, lambda _, children: TrackedList(children),
    namespace=_NAMESPACE)
optree.register_pytree_node(
    TrackedDict, _flatten_tracked_dict, lambda keys, children: TrackedDict(zip(keys, children)),
    namespace=_NAMESPACE)


class MAP_TO_NONE:
    """What a `traverse` function returns to replace a subtree by `None` (returning `None`
    itself means "keep going" / "keep as is").

    Examples:
        >>> lamina.tree.traverse(lambda x: lamina.tree.MAP_TO_NONE if x == 2 else None,
        ...                      [1, 2, (3, 2)])
        [1, None, (3, None)]
    """


def _is_leaf(value, none_is_leaf=True):
    return optree.tree_is_leaf(value, none_is_leaf=none_is_leaf, namespace=_NAMESPACE)


def _check_callable(function, name, argument="func"):
    if not callable(function):
        raise TypeError(
            f"keras.tree.{name}: `{argument}` must be callable (a function applied to the "
            f"structure's items). Received: {argument}={function!r} of type "
            f"{type(function).__name__}.")


def _check_structures(structures, name):
    if not structures:
        raise ValueError(
            f"keras.tree.{name} needs at least one structure after `func`. Received none: "
            f"pass the structure(s) to map, e.g. {name}(func, structure).")


def _mismatch(name, error, what="structures"):
    return ValueError(
        f"keras.tree.{name}: the {what} don't have the same nested structure: {error} "
        "Make each structure have the same nesting, container types (a list is not a "
        "tuple) and dict keys.")


def is_nested(structure):
    """Whether `structure` is a container that the functions here walk into: a list, tuple,
    namedtuple or dict (of any size). Arrays, strings, sets and `None` are not.

    Examples:
        >>> lamina.tree.is_nested([1, 2]), lamina.tree.is_nested({}), lamina.tree.is_nested(None)
        (True, True, False)
        >>> lamina.tree.is_nested(np.ones(3))
        False
    """
    return not _is_leaf(structure)


def traverse(func, structure, top_down=True):
    """Applies `func` to every subtree of `structure` (containers and leaves), depth-first.

    Top-down (the default), `func` sees each container before its contents: returning `None`
    walks into it, returning anything else replaces it (contents unvisited). Bottom-up, `func`
    sees each container already rebuilt from its traversed contents: `None` keeps it,
    anything else replaces it. Return `MAP_TO_NONE` to put `None` in the result.

    Args:
        func: a function of one subtree.
        structure: the nested structure to walk.
        top_down: whether containers are visited before (True) or after their contents.

    Returns:
        The structure with the replacements made.

    Examples:
        >>> seen = []
        >>> lamina.tree.traverse(seen.append, [(1, 2), {"a": 3}])
        [(1, 2), {'a': 3}]
        >>> seen
        [[(1, 2), {'a': 3}], (1, 2), 1, 2, {'a': 3}, 3]
        >>> lamina.tree.traverse(lambda x: "T" if isinstance(x, tuple) else None,
        ...                      [(1, 2), [3]])
        ['T', [3]]
    """
    _check_callable(func, "traverse")

    def visit(subtree):
        def children_traversed():
            if _is_leaf(subtree):
                return subtree
            children, spec = optree.tree_flatten(
                subtree, is_leaf=lambda x: x is not subtree, none_is_leaf=True,
                namespace=_NAMESPACE)
            return optree.tree_unflatten(spec, [visit(child) for child in children])

        if top_down:
            result = func(subtree)
            if result is None:
                return children_traversed()
        else:
            rebuilt = children_traversed()
            result = func(rebuilt)
            if result is None:
                return rebuilt
        return None if result is MAP_TO_NONE else result

    return visit(structure)


def flatten(structure):
    """The leaves of `structure`, in order, as a list (dict values by sorted key).

    A leaf (`None` included) flattens to a one-item list.

    Examples:
        >>> lamina.tree.flatten([[1, 2, 3], [4, [5], [[6]]]])
        [1, 2, 3, 4, 5, 6]
        >>> lamina.tree.flatten({100: "world!", 6: "Hello"}), lamina.tree.flatten(None)
        (['Hello', 'world!'], [None])
    """
    return optree.tree_leaves(structure, none_is_leaf=True, namespace=_NAMESPACE)


def flatten_with_path(structure):
    """The leaves of `structure` with their paths: a list of `(path, leaf)`, where a path is
    the tuple of indices and keys leading to the leaf (indices for namedtuples too).

    Examples:
        >>> lamina.tree.flatten_with_path({"b": [1, None], "a": 3})
        [(('a',), 3), (('b', 0), 1), (('b', 1), None)]
    """
    paths, leaves, _ = optree.tree_flatten_with_path(
        structure, none_is_leaf=True, namespace=_NAMESPACE)
    return list(zip(paths, leaves))


def map_structure(func, *structures, none_is_leaf=True):
    """A structure like the given ones whose leaves are `func(leaf, other_leaf, ...)`.

    Args:
        func: a function taking one leaf from each structure.
        *structures: one or more structures with the same nesting (same container types,
            lengths and dict keys).
        none_is_leaf: whether `func` is called on `None` leaves. If False, a `None` in the
            first structure stays `None` in the result (the other structures must hold `None`
            there too).

    Returns:
        The structure of `func`'s results.

    Raises:
        TypeError: `func` is not callable.
        ValueError: no structure is given, or the structures are nested differently.

    Examples:
        >>> lamina.tree.map_structure(lambda v: v ** 2, [[1], [2], [3]])
        [[1], [4], [9]]
        >>> lamina.tree.map_structure(lambda x, y: x * y, (1, {"a": 2}), (3, {"a": 4}))
        (3, {'a': 8})
        >>> lamina.tree.map_structure(lambda x: x + 1, [None, 1], none_is_leaf=False)
        [None, 2]
    """
    _check_callable(func, "map_structure")
    _check_structures(structures, "map_structure")
    if len(structures) == 1:
        return optree.tree_map(func, structures[0], none_is_leaf=none_is_leaf,
                               namespace=_NAMESPACE)

    # optree lets the other structures be deeper than the first (a prefix match); Keras asks
    # for the same nesting, so a leaf of the first must be a leaf in all.
    def checked(*leaves):
        if not all(_is_leaf(leaf, none_is_leaf) for leaf in leaves[1:]):
            deeper = next(leaf for leaf in leaves[1:] if not _is_leaf(leaf, none_is_leaf))
            raise _mismatch("map_structure", f"the first structure has the leaf "
                                             f"{_short(leaves[0])} where another has "
                                             f"{_short(deeper)}.")
        return func(*leaves)

    try:
        return optree.tree_map(checked, *structures, none_is_leaf=none_is_leaf,
                               namespace=_NAMESPACE)
    except ValueError as error:
        if str(error).startswith("keras.tree."):
            raise
        raise _mismatch("map_structure", error) from None


def map_structure_up_to(shallow_structure, func, *structures):
    """Like `map_structure`, but stops at the leaves of `shallow_structure`: `func` receives,
    from each structure, the whole subtree found where `shallow_structure` has a leaf.

    Args:
        shallow_structure: a structure whose nesting is a prefix of each structure's; its leaf
            values are not used (`None` works).
        func: a function taking one subtree from each structure.
        *structures: structures at least as deep as `shallow_structure`.

    Returns:
        A structure shaped like `shallow_structure`, holding `func`'s results.

    Raises:
        TypeError: `func` is not callable.
        ValueError: no structure is given, or one is shallower than `shallow_structure` or
            nested differently.

    Examples:
        >>> lamina.tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2, 2]])
        [2, 3]
        >>> lamina.tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 3]])
        ['[1, 1]', ['2', '3']]
    """
    _check_callable(func, "map_structure_up_to")
    _check_structures(structures, "map_structure_up_to")
    try:
        return optree.tree_map(lambda _, *subtrees: func(*subtrees), shallow_structure,
                               *structures, none_is_leaf=True, namespace=_NAMESPACE)
    except ValueError as error:
        raise ValueError(
            "keras.tree.map_structure_up_to: each structure must contain the nesting of "
            f"`shallow_structure`, and does not: {error} A structure may be deeper than "
            "`shallow_structure`, never shallower or of other container types.") from None


def assert_same_structure(a, b, check_types=None):
    """Raises a `ValueError` unless `a` and `b` are nested the same way: the same container
    types at each level (a list is not a tuple; two namedtuple classes differ even with the
    same fields; `dict`, `OrderedDict` and `defaultdict` match when their keys do), the same
    lengths and keys. Leaves may differ.

    Args:
        a: a structure.
        b: another structure.
        check_types: deprecated in Keras 3 and without effect; use `assert_same_paths` for a
            check that ignores container types.

    Examples:
        >>> lamina.tree.assert_same_structure([(0, 1)], [(2, 3)])
        >>> lamina.tree.assert_same_structure([0, 1], (2, 3))
        Traceback (most recent call last):
        ValueError: keras.tree.assert_same_structure: the structures don't have the same ...
    """
    if check_types is not None:
        import warnings

        warnings.warn(
            "keras.tree.assert_same_structure: the `check_types` argument is deprecated and "
            "has no effect; remove it (use keras.tree.assert_same_paths() for a check that "
            "ignores container types).", DeprecationWarning, stacklevel=2)

    def check(leaf_a, leaf_b):
        if not _is_leaf(leaf_b):
            raise _mismatch("assert_same_structure",
                            f"`a` has the leaf {_short(leaf_a)} where `b` has "
                            f"{_short(leaf_b)}.")

    try:
        optree.tree_map(check, a, b, none_is_leaf=True, namespace=_NAMESPACE)
    except ValueError as error:
        if str(error).startswith("keras.tree."):
            raise
        raise _mismatch("assert_same_structure", error) from None


def assert_same_paths(a, b):
    """Raises a `ValueError` unless `a` and `b` have leaves at the same paths (indices and
    keys), whatever their container types: `[0, 1]` and `(2, 3)` match. The message lists the
    paths found in one and not the other.

    Examples:
        >>> lamina.tree.assert_same_paths([0, 1], (2, 3))
        >>> lamina.tree.assert_same_paths({"a": 1}, {"b": 1})
        Traceback (most recent call last):
        ValueError: keras.tree.assert_same_paths: `a` and `b` don't have the same paths. ...
    """
    paths_a = set(optree.tree_paths(a, none_is_leaf=True, namespace=_NAMESPACE))
    paths_b = set(optree.tree_paths(b, none_is_leaf=True, namespace=_NAMESPACE))
    if paths_a != paths_b:
        only_a, only_b = sorted(paths_a - paths_b, key=repr), sorted(paths_b - paths_a, key=repr)
        raise ValueError(
            "keras.tree.assert_same_paths: `a` and `b` don't have the same paths. "
            f"Paths in `a` missing in `b`: {_short(only_a, 300)}. Paths in `b` missing in "
            f"`a`: {_short(only_b, 300)}.")


def pack_sequence_as(structure, flat_sequence):
    """Puts the items of `flat_sequence`, in order, in place of the leaves of `structure`:
    the inverse of `flatten` (dict leaves are filled in sorted-key order).

    Args:
        structure: the structure to fill (its leaf values are not used).
        flat_sequence: a list or tuple with one item per leaf of `structure`.

    Raises:
        TypeError: `flat_sequence` is not a sequence.
        ValueError: it has more or fewer items than `structure` has leaves.

    Examples:
        >>> lamina.tree.pack_sequence_as({"key3": "", "key1": "", "key2": ""}, [1, 2, 3])
        {'key3': 3, 'key1': 1, 'key2': 2}
        >>> lamina.tree.pack_sequence_as((("a", "b"), "c"), [1.0, 2.0, 3.0])
        ((1.0, 2.0), 3.0)
    """
    spec = optree.tree_structure(structure, none_is_leaf=True, namespace=_NAMESPACE)
    if isinstance(flat_sequence, (str, bytes, dict)) or not hasattr(flat_sequence, "__iter__"):
        raise TypeError(
            "keras.tree.pack_sequence_as: `flat_sequence` must be a list or tuple holding "
            f"one item per leaf of `structure` ({spec.num_leaves}). Received: "
            f"flat_sequence={_short(flat_sequence)} of type {type(flat_sequence).__name__}.")
    flat_sequence = list(flat_sequence)
    if len(flat_sequence) != spec.num_leaves:
        raise ValueError(
            "keras.tree.pack_sequence_as: `structure` has "
            f"{spec.num_leaves} leaves but `flat_sequence` has {len(flat_sequence)} items. "
            f"Pass exactly one item per leaf. Received: structure={_short(structure)}.")
    return optree.tree_unflatten(spec, flat_sequence)


def lists_to_tuples(structure):
    """`structure` with every list, at any depth, turned into a tuple.

    Examples:
        >>> lamina.tree.lists_to_tuples([1, [2, {"a": [3]}]])
        (1, (2, {'a': (3,)}))
    """
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(
        isinstance(d, int) or d is None for d in value)


def map_shape_structure(func, structure):
    """`map_structure` for structures of shapes: a list or tuple of ints and `None`s (such
    as `(None, 3)`) is passed to `func` whole instead of being walked into.

    Examples:
        >>> lamina.tree.map_shape_structure(lambda s: s[1:], {"x": (None, 3), "y": [(2, 5)]})
        {'x': (3,), 'y': [(5,)]}
    """
    _check_callable(func, "map_shape_structure")
    return optree.tree_map(func, structure, is_leaf=_is_shape, none_is_leaf=True,
                           namespace=_NAMESPACE)


def _short(value, limit=120):
    try:
        text = repr(value)
    except Exception:  # a leaf whose repr fails must not hide the structural error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit - 15]}...({len(text)} chars)"
