"""keras.dtype_policies: policies by name, FloatDTypePolicy, DTypePolicyMap, the global policy,
and their configs in Keras 3's format (compared with the installed Keras where it is cheap)."""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import dtype_policies
from lamina.dtype_policies import DTypePolicy, DTypePolicyMap, FloatDTypePolicy

os.environ["KERAS_BACKEND"] = "jax"


@pytest.fixture(autouse=True)
def _global_policy_restored():
    yield
    dtype_policies.set_dtype_policy(None)


@pytest.mark.parametrize("name, compute, variable", [
    ("float32", "float32", "float32"), ("bfloat16", "bfloat16", "bfloat16"),
    ("mixed_float16", "float16", "float32"), ("mixed_bfloat16", "bfloat16", "float32"),
    ("int32", "int32", "int32")])
def test_names_give_compute_and_variable_dtypes(name, compute, variable):
    policy = DTypePolicy(name)
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == (name, compute, variable)
    assert policy.quantization_mode is None
    assert repr(policy) == f'<DTypePolicy "{name}">'


def test_no_name_takes_the_global_policy():
    assert DTypePolicy().name == "float32"
    dtype_policies.set_dtype_policy("mixed_bfloat16")
    assert DTypePolicy().name == "mixed_bfloat16"
    assert dtype_policies.get(None) == DTypePolicy("mixed_bfloat16")
    assert lamina.layers.Dense(2).dtype_policy.name == "mixed_bfloat16"


def test_float_dtype_policy_is_dtype_policy_by_another_name():
    old = FloatDTypePolicy("mixed_float16")
    assert old == DTypePolicy("mixed_float16") and hash(old) == hash(DTypePolicy("mixed_float16"))
    assert repr(old) == '<DTypePolicy "mixed_float16">'
    assert lamina.FloatDTypePolicy is FloatDTypePolicy
    # Keras 3.0-3.3 wrote this class name in layer configs.
    config = {"module": "keras", "class_name": "FloatDTypePolicy",
              "config": {"name": "mixed_float16"}, "registered_name": None}
    assert dtype_policies.get(config).compute_dtype == "float16"
    layer = lamina.saving.deserialize_keras_object(
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "config": {"units": 2, "dtype": config}})
    assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"


def test_bad_names_and_types_say_what_was_expected():
    with pytest.raises(TypeError, match=r"must be a string.*Received: name=3 \(of type int\)"):
        DTypePolicy(3)
    with pytest.raises(ValueError, match="Invalid dtype policy name: 'mixed_float32'"):
        DTypePolicy("mixed_float32")
    # A quantized name is not a DTypePolicy: dtype_policies.get makes its class.
    with pytest.raises(ValueError, match="quantized dtype policy.*dtype_policies.get"):
        DTypePolicy("int8_from_float32")
    with pytest.raises(ValueError, match=r"Expected one of \('int8'"):
        dtype_policies.get({"class_name": "QuantizedDTypePolicy",
                            "config": {"mode": "int3", "source_name": "float32"}})
    with pytest.raises(ValueError, match=r"Cannot interpret `dtype` argument.*dtype=3\.5"):
        dtype_policies.get(3.5)
    with pytest.raises(ValueError, match=r"Invalid `policy` argument.*policy=3"):
        dtype_policies.set_dtype_policy(3)
    with pytest.raises(TypeError, match="`dtype_policy` must be a DTypePolicy"):
        dtype_policies.serialize("float32")
    assert dtype_policies.dtype_policy().name == "float32"  # refused input changed nothing


def test_get_accepts_names_dtypes_configs_and_policies():
    policy = DTypePolicy("bfloat16")
    assert dtype_policies.get(policy) is policy
    assert dtype_policies.get(np.float16).name == "float16"
    assert dtype_policies.get(jnp.bfloat16).name == "bfloat16"
    assert dtype_policies.get({"name": "mixed_float16"}).variable_dtype == "float32"
    # tf.keras 2 wrote its mixed-precision policies as "Policy".
    assert dtype_policies.get({"class_name": "Policy",
                               "config": {"name": "mixed_float16"}}).name == "mixed_float16"


def test_set_dtype_policy_takes_names_and_policies_and_none_resets():
    dtype_policies.set_dtype_policy(DTypePolicy("mixed_float16"))
    assert lamina.mixed_precision.global_policy().name == "mixed_float16"
    lamina.mixed_precision.set_global_policy("float16")
    assert lamina.mixed_precision.dtype_policy().compute_dtype == "float16"
    dtype_policies.set_dtype_policy(None)
    assert dtype_policies.dtype_policy() == DTypePolicy(lamina.config.floatx())


def test_convert_input_casts_floats_only():
    policy = DTypePolicy("mixed_bfloat16")
    assert policy.convert_input(np.ones(2, "float32"), True, "bfloat16").dtype == jnp.bfloat16
    assert policy.convert_input(np.ones(2, "float32"), False, "bfloat16").dtype == jnp.float32
    assert policy.convert_input(np.arange(2), True, "bfloat16").dtype == jnp.int32
    assert policy.convert_input("text", True, "bfloat16") == "text"


# ----------------------------------------------------------------------------- DTypePolicyMap
def test_map_lookup_exact_then_one_pattern_then_default():
    policies = DTypePolicyMap(default_policy="float32")
    policies["encoder/layer_0/dense"] = "bfloat16"
    policies["encoder/.*"] = DTypePolicy("float16")
    policies["decoder"] = "bfloat16"
    assert policies["encoder/layer_0/dense"].name == "bfloat16"
    assert policies["encoder/attention/query"].name == "float16"
    assert policies["decoder/attention"].name == "float32"  # no prefix matching
    assert (policies.name, policies.compute_dtype, policies.variable_dtype) == (
        "map_float32", "float32", "float32")
    assert len(policies) == 3 and list(policies) == ["encoder/layer_0/dense", "encoder/.*",
                                                      "decoder"]
    policies["encoder/attention/.*"] = "bfloat16"
    with pytest.raises(ValueError, match="matches several keys.*'encoder/.\\*', "
                                         "'encoder/attention/.\\*'"):
        policies["encoder/attention/query"]
    del policies["encoder/attention/.*"]
    assert "encoder/attention/.*" not in policies


def test_map_refuses_bad_entries_and_arguments():
    policies = DTypePolicyMap("mixed_bfloat16")
    policies["a"] = "float32"
    with pytest.raises(ValueError, match="'a' is already in the DTypePolicyMap"):
        policies["a"] = "float16"
    with pytest.raises(ValueError, match=r"DTypePolicyMap\['b'\]: cannot interpret 3\.5"):
        policies["b"] = 3.5
    with pytest.raises(TypeError, match="keys are layer paths.*key=3"):
        policies[3] = "float32"
    with pytest.raises(TypeError, match="keys are layer paths"):
        policies[3]
    with pytest.raises(ValueError, match="cannot hold another DTypePolicyMap"):
        policies["c"] = DTypePolicyMap()
    with pytest.raises(ValueError, match="`default_policy` cannot be a DTypePolicyMap"):
        DTypePolicyMap(policies)
    with pytest.raises(TypeError, match=r"`policy_map` must be a dict.*of type list"):
        DTypePolicyMap(policy_map=[("a", "float32")])
    with pytest.raises(ValueError, match="argument `default_policy`.*mixed_float64"):
        DTypePolicyMap("mixed_float64")
    assert list(policies) == ["a"] and policies["a"].name == "float32"


def test_map_default_is_the_global_policy_at_construction():
    dtype_policies.set_dtype_policy("mixed_bfloat16")
    policies = DTypePolicyMap()
    dtype_policies.set_dtype_policy(None)
    assert policies.default_policy.name == "mixed_bfloat16"


def test_map_config_round_trip_leaves_the_map_unchanged():
    policies = DTypePolicyMap(policy_map={"dense": "float32", "head/.*": "mixed_float16"})
    config = dtype_policies.serialize(policies)
    assert config["module"] == "keras.dtype_policies"
    assert config["class_name"] == "DTypePolicyMap"
    assert policies["dense"].name == "float32"  # serializing did not touch the live policies
    rebuilt = dtype_policies.deserialize(json.loads(json.dumps(config)))
    assert rebuilt == policies and rebuilt["head/x"].compute_dtype == "float16"


def test_layers_sharing_a_map_each_take_their_entry():
    policies = DTypePolicyMap("mixed_bfloat16", {"head": "float32"})
    body = lamina.layers.Dense(3, dtype=policies, name="body")
    head = lamina.layers.Dense(2, dtype=policies, name="head")
    assert (body.compute_dtype, body.variable_dtype) == ("bfloat16", "float32")
    assert head.compute_dtype == "float32"
    out = head(body(np.ones((1, 4), "float32")))
    assert out.dtype == jnp.float32 and body.kernel.dtype == "float32"
    head.dtype_policy = "float16"  # changes the head's entry of the shared map
    assert policies["head"].name == "float16" and head.compute_dtype == "float16"
    config = head.get_config()["dtype"]
    assert config["class_name"] == "DTypePolicyMap"
    assert lamina.layers.Dense.from_config(head.get_config()).compute_dtype == "float16"


# ----------------------------------------------------------------------------- Keras 3
def test_configs_match_keras_and_load_both_ways():
    keras = pytest.importorskip("keras")
    for name in ("float32", "mixed_bfloat16", "float16"):
        assert dtype_policies.serialize(DTypePolicy(name)) == \
            keras.dtype_policies.serialize(keras.dtype_policies.DTypePolicy(name))
    assert dtype_policies.serialize(FloatDTypePolicy("float32")) == \
        keras.dtype_policies.serialize(keras.dtype_policies.FloatDTypePolicy("float32"))
    # A map with a named default: identical configs.
    ours = DTypePolicyMap("mixed_bfloat16", {"dense": "float32"})
    theirs = keras.dtype_policies.DTypePolicyMap("mixed_bfloat16")
    theirs["dense"] = "float32"
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    theirs = keras.dtype_policies.DTypePolicyMap(keras.dtype_policies.DTypePolicy("float16"))
    ours = DTypePolicyMap(DTypePolicy("float16"))
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    loaded = keras.dtype_policies.deserialize(dtype_policies.serialize(
        DTypePolicyMap("mixed_bfloat16", {"head/.*": "float32"})))
    assert loaded["head/dense"].name == "float32" and loaded.compute_dtype == "bfloat16"
    # With no default, Keras writes its entries' names as null (the loader's global policy).
    theirs = keras.dtype_policies.DTypePolicyMap()
    theirs["a"] = "bfloat16"
    ours = dtype_policies.deserialize(keras.dtype_policies.serialize(theirs))
    assert ours["a"].name == "float32" and ours.default_policy.name == "float32"
    # Keras's layer configs load in lamina, and the reverse.
    dense = keras.layers.Dense(2, dtype="mixed_bfloat16")
    ours = lamina.layers.Dense.from_config(dense.get_config())
    assert ours.dtype_policy == DTypePolicy("mixed_bfloat16")
    assert ours.get_config()["dtype"] == dense.get_config()["dtype"]
    back = keras.layers.Dense.from_config(lamina.layers.Dense(2, dtype=DTypePolicyMap(
        "mixed_float16")).get_config())
    assert back.compute_dtype == "float16"
