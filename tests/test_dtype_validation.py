"""Dtype names from configs are checked against the dtypes Keras programs use.

A dtype sets how many bytes each element of a weight takes, and NumPy reads strings such as
"V100000000" (100 MB per element) or "object" as dtypes, so a small config could make a layer
allocate gigabytes or hold Python objects. Only Keras's dtypes are accepted, and the error lists
them.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina._runtime.dtypes import ALLOWED_DTYPES, standardize_dtype

_HOSTILE = ["object", "str", "V100000000", "float1024", "|S1000000000", "(1000,)f4", "int4",
            "string", "", 3, {"name": "float32"}, object]


@pytest.mark.parametrize("name", ALLOWED_DTYPES)
def test_every_keras_dtype_is_accepted_by_name(name):
    assert standardize_dtype(name) == name


def test_aliases_and_numpy_jax_python_dtypes_map_to_keras_names():
    assert standardize_dtype("float") == "float32" and standardize_dtype("double") == "float64"
    assert standardize_dtype(np.float16) == "float16" and standardize_dtype("f4") == "float32"
    assert standardize_dtype(jnp.bfloat16) == "bfloat16"
    assert standardize_dtype(np.dtype("uint8")) == "uint8"
    assert (standardize_dtype(int), standardize_dtype(bool)) == ("int32", "bool")


@pytest.mark.parametrize("dtype", _HOSTILE, ids=repr)
def test_other_dtypes_are_refused_with_the_accepted_list(dtype):
    with pytest.raises(ValueError, match="Invalid dtype") as caught:
        standardize_dtype(dtype)
    assert "float32, float64" in str(caught.value) and "bfloat16" in str(caught.value)


def test_dtype_errors_quote_long_values_briefly():
    with pytest.raises(ValueError) as caught:
        standardize_dtype("V" * 10_000)
    assert len(str(caught.value)) < 600 and "10002 chars" in str(caught.value)


@pytest.mark.parametrize("name", ["V100000000", "object", "mixed_float8", "mixed_int8"])
def test_policy_names_are_checked_and_the_error_lists_mixed_policies(name):
    with pytest.raises(ValueError, match="Invalid dtype policy name") as caught:
        keras.dtype_policies.DTypePolicy(name)
    assert "'mixed_float16' or 'mixed_bfloat16'" in str(caught.value)


def test_policy_configs_accept_keras_forms_and_refuse_others():
    get = keras.dtype_policies.get
    assert get({"class_name": "DTypePolicy", "config": {"name": "bfloat16"}}).name == "bfloat16"
    assert get({"name": "mixed_float16"}).compute_dtype == "float16"
    for config in ({}, {"class_name": "DTypePolicy", "config": {"name": "float32", "x": 1}},
                   {"class_name": "Evil", "config": {"name": "float32"}},
                   {"class_name": "DTypePolicy", "config": "float32"}):
        with pytest.raises(ValueError, match="Cannot read a dtype policy"):
            get(config)


def test_a_layer_dtype_from_a_config_is_checked_and_names_the_layer():
    config = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
              "config": {"units": 2, "name": "d9", "dtype": {
                  "module": "keras", "class_name": "DTypePolicy", "registered_name": None,
                  "config": {"name": "V100000000"}}}}
    with pytest.raises(ValueError, match=r"Layer 'd9' \(Dense\), config key 'dtype'"):
        keras.saving.deserialize_keras_object(config)
    config["config"]["dtype"] = "object"  # the short form reaches the constructor
    with pytest.raises(ValueError, match=r"Layer 'd9' \(Dense\), argument 'dtype'"):
        keras.saving.deserialize_keras_object(config)


def test_variable_and_weight_dtypes_are_checked_with_their_path():
    with pytest.raises(ValueError, match="Cannot create variable 'v'.*Invalid dtype: 'object'"):
        keras.Variable("zeros", shape=(2,), dtype="object", name="v")
    with pytest.raises(ValueError, match="variable 'w'.*Invalid dtype: 'str'"):
        keras.Variable([1, 2], dtype="str", name="w")
    layer = keras.layers.Dense(2, name="dense")
    with pytest.raises(ValueError, match="Layer 'dense' cannot create weight 'extra'"):
        layer.add_weight(name="extra", shape=(2,), dtype="V8")
    assert layer.weights == []
