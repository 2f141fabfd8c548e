"""keras.tree: Keras 3's rules for nested structures (expected values computed with Keras 3.15.1,
whose JAX install walks them with optree as lamina does)."""

import collections
import numpy as np
import pytest

import lamina
from lamina import tree

NT = collections.namedtuple("NT", "a b")
OD = collections.OrderedDict


def test_the_module_exports_keras_twelve_names():
    assert sorted(tree.__all__) == [
        "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
        "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
        "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]
    assert lamina.tree is tree


def test_what_counts_as_nested():
    nested = [[], (), {}, OD(), NT(1, 2), [1], {"a": 1}]
    leaves = [1, None, "s", b"b", {1, 2}, np.ones(2), lamina.Variable(1.0)]
    assert all(tree.is_nested(x) for x in nested)
    assert not any(tree.is_nested(x) for x in leaves)


def test_flatten_orders_dicts_by_key_and_keeps_none_and_ordered_dicts():
    structure = [1, [2, (3, None)], {"b": 4, "a": (5,)}]
    assert tree.flatten(structure) == [1, 2, 3, None, 5, 4]
    assert tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    assert tree.flatten(OD([("b", 1), ("a", [2, 3])])) == [1, 2, 3]
    assert tree.flatten(collections.defaultdict(int, {"z": 1, "y": 2})) == [2, 1]
    assert tree.flatten(None) == [None] and tree.flatten("abc") == ["abc"]
    assert tree.flatten([[], (), {}]) == []


def test_flatten_with_path_uses_indices_and_keys():
    assert tree.flatten_with_path({"b": [1, (2, None)], "a": 3}) == [
        (("a",), 3), (("b", 0), 1), (("b", 1, 0), 2), (("b", 1, 1), None)]
    assert tree.flatten_with_path(NT(1, [2])) == [((0,), 1), ((1, 0), 2)]


def test_map_structure_keeps_containers_and_dict_order():
    result = tree.map_structure(lambda x: x * 10, {"b": [1, NT(2, 3)], "a": 4})
    assert result == {"b": [10, NT(20, 30)], "a": 40}
    assert list(result) == ["b", "a"]
    assert type(result["b"][1]) is NT
    assert tree.map_structure(lambda x, y: x + y, [1, (2,)], [10, (20,)]) == [11, (22,)]


def test_map_structure_none_is_leaf():
    assert tree.map_structure(lambda x: x is None, [None, 1]) == [True, False]
    assert tree.map_structure(lambda x: x + 1, [None, 1], none_is_leaf=False) == [None, 2]
    assert tree.map_structure(lambda x: 0, None, none_is_leaf=False) is None
    assert tree.map_structure(lambda x, y: (x, y), [None, 1], [None, 2],
                              none_is_leaf=False) == [None, (1, 2)]
    with pytest.raises(ValueError):
        tree.map_structure(lambda x, y: x, [None, 1], [3, 2], none_is_leaf=False)


@pytest.mark.parametrize("a, b", [
    ([1, 2], (1, 2)),           # container types differ
    ([1, 2], [1, [2]]),         # b is deeper
    ([1, [2, 3]], [1, 2]),      # b is shallower
    ([1, 2], [1, 2, 3]),        # lengths differ
    ({"a": 1}, {"b": 1}),       # keys differ
    (NT(1, 2), (1, 2)),         # namedtuple is not tuple
])
def test_mismatched_structures_are_refused(a, b):
    with pytest.raises(ValueError, match="don't have the same nested structure"):
        tree.map_structure(lambda x, y: x, a, b)
    with pytest.raises(ValueError, match="don't have the same nested structure"):
        tree.assert_same_structure(a, b)


def test_assert_same_structure_accepts_dict_kinds_with_the_same_keys():
    tree.assert_same_structure({"a": 1, "b": 2}, OD([("b", 1), ("a", 2)]))
    tree.assert_same_structure([None, (1,)], [4, (5,)])
    with pytest.warns(DeprecationWarning, match="check_types"):
        tree.assert_same_structure([1], [2], check_types=True)


def test_assert_same_paths_ignores_container_types_and_lists_the_difference():
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths(NT(0, 1), (2, 3))
    with pytest.raises(ValueError, match=r"missing in `b`: \[\(0,\), \(1,\)\].*"
                                         r"missing in `a`: \[\('a',\)\]"):
        tree.assert_same_paths([1, 2], {"a": 1})


def test_map_structure_up_to_stops_at_the_shallow_leaves():
    # Keras 3.15.1 documents this example, but its optree code raises on None shallow leaves.
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2, 2]]) == [2, 3]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 3]]) == \
        ["[1, 1]", ["2", "3"]]
    assert tree.map_structure_up_to({"a": 0, "b": [0, 0]}, lambda x, y: (x, y),
                                    {"a": [1], "b": [2, 3]}, {"a": 5, "b": [6, (7,)]}) == \
        {"a": ([1], 5), "b": [(2, 6), (3, (7,))]}
    with pytest.raises(ValueError, match="shallow_structure"):
        tree.map_structure_up_to([1, [1]], len, [[1, 1], [2, 2]])


def test_pack_sequence_as_inverts_flatten():
    structure = {"key3": {"c": ("alpha", "beta"), "a": "gamma"}, "key1": {"e": 1, "d": 2}}
    packed = tree.pack_sequence_as(structure, ["val2", "val1", 3.0, 1.0, 2.0])
    assert packed == {"key3": {"c": (1.0, 2.0), "a": 3.0}, "key1": {"e": "val1", "d": "val2"}}
    assert list(packed) == ["key3", "key1"]
    assert tree.pack_sequence_as(1, [5]) == 5
    assert tree.pack_sequence_as([1, 2], (3, 4)) == [3, 4]
    assert tree.pack_sequence_as([], []) == []


def test_pack_sequence_as_refuses_wrong_counts_and_non_sequences():
    with pytest.raises(ValueError, match="has 2 leaves but `flat_sequence` has 1 items"):
        tree.pack_sequence_as([1, 2], [5])
    with pytest.raises(ValueError, match="has 2 leaves but `flat_sequence` has 3 items"):
        tree.pack_sequence_as([1, 2], [5, 6, 7])
    with pytest.raises(TypeError, match=r"`flat_sequence` must be a list or tuple.*"
                                        r"Received: flat_sequence=5 of type int"):
        tree.pack_sequence_as([1, 2], 5)


def test_traverse_top_down_and_bottom_up():
    seen = []
    assert tree.traverse(seen.append, [(1, 2), [3], {"a": 4}]) == [(1, 2), [3], {"a": 4}]
    assert seen == [[(1, 2), [3], {"a": 4}], (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    seen = []
    tree.traverse(seen.append, [(1, 2), [3], {"a": 4}], top_down=False)
    assert seen == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, [(1, 2), [3], {"a": 4}]]
    replaced = tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, 2, (3, 2)])
    assert replaced == [1, None, (3, None)]
    # Top-down, a replaced container is not walked into.
    assert tree.traverse(lambda x: "T" if isinstance(x, tuple) else None, [(1, 2), [3]]) == \
        ["T", [3]]


def test_lists_to_tuples_and_map_shape_structure():
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    shapes = [(1, None), {"a": (2, 3)}, [4, 5], ()]
    assert tree.map_shape_structure(lambda s: ("S", s), shapes) == [
        ("S", (1, None)), {"a": ("S", (2, 3))}, ("S", [4, 5]), ("S", ())]


@pytest.mark.parametrize("call", [
    lambda: tree.map_structure(1, [1]),
    lambda: tree.map_structure_up_to([1], "len", [1]),
    lambda: tree.traverse(None, [1]),
    lambda: tree.map_shape_structure(3, [(1,)]),
])
def test_a_function_argument_that_is_not_callable_is_named(call):
    with pytest.raises(TypeError, match=r"`func` must be callable.*Received: func="):
        call()


def test_map_structure_without_structures_says_so():
    with pytest.raises(ValueError, match="needs at least one structure"):
        tree.map_structure(lambda x: x)
    with pytest.raises(ValueError, match="needs at least one structure"):
        tree.map_structure_up_to([1], len)


def test_lists_and_dicts_a_layer_tracks_are_nodes():
    layer = lamina.layers.Layer()
    layer.blocks = [lamina.layers.Dense(1), lamina.layers.Dense(2)]
    layer.heads = {"b": lamina.layers.Dense(3), "a": lamina.layers.Dense(4)}
    assert tree.flatten(layer.blocks) == list(layer.blocks)
    assert [d.units for d in tree.flatten(layer.heads)] == [4, 3]
    assert tree.map_structure(lambda d: d.units, layer.heads) == {"b": 3, "a": 4}


def _nested(depth):
    deep = leaf = []
    for _ in range(depth):
        leaf.append([])
        leaf = leaf[0]
    leaf.append(7)
    return deep


def test_deep_structures_flatten_or_raise_a_clean_recursion_error():
    assert tree.flatten(_nested(900)) == [7]
    with pytest.raises(RecursionError):
        tree.flatten(_nested(5000))
