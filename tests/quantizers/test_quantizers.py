"""keras.quantizers: the functions, quantizers and configs, with Keras 3.15's numbers.

The expected values were computed with Keras 3.15 on JAX (`keras.quantizers.*` on the same
inputs); the layers that use these functions are compared with Keras directly in
tests/layers/test_quantized_layers.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import dtype_policies
from lamina import quantizers as q

X = np.array([[0.5, -1.25, 2.0], [0.1, 0.0, -0.3]], "float32")
KERNEL = np.linspace(-1.0, 2.0, 12, dtype="float32").reshape(6, 2)


def test_abs_max_quantize_matches_keras():
    values, scale = q.abs_max_quantize(X, axis=-1)
    assert values.dtype == jnp.int8
    assert values.tolist() == [[32, -79, 127], [42, 0, -127]]
    np.testing.assert_allclose(scale, [[63.5], [423.33319091796875]], rtol=1e-7)
    values, scale = q.abs_max_quantize(X, axis=0, value_range=(-8, 7), to_numpy=True)
    assert values.tolist() == [[7, -7, 7], [1, 0, -1]]
    np.testing.assert_allclose(scale, [[13.99999713897705, 5.59999942779541, 3.5]], rtol=1e-7)
    # The quantizer class calls it with its own range, and -1 as the default axis.
    values, _ = q.AbsMaxQuantizer()(X)
    assert values.tolist() == [[32, -79, 127], [42, 0, -127]]


def test_grouped_quantization_with_zero_point_matches_keras():
    for to_numpy in (True, False):
        values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(
            KERNEL, block_size=4, to_numpy=to_numpy)
        assert values.tolist() == [[-8, -8], [-3, -3], [2, 2], [7, 7], [2, 3], [7, 7]]
        np.testing.assert_allclose(scale, [[0.10909091681241989, 0.10909092426300049],
                                           [0.11515152454376221, 0.13333334028720856]],
                                   rtol=1e-6)
        assert zero.dtype == jnp.int8 and zero.tolist() == [[1, -1], [-8, -8]]
    with pytest.raises(ValueError, match=r"block_size must be a positive integer.*=0"):
        q.abs_max_quantize_grouped_with_zero_point(KERNEL, block_size=0)
    with pytest.raises(ValueError, match=r"2-D kernel.*\(2, 3, 2\)"):
        q.abs_max_quantize_grouped_with_zero_point(KERNEL.reshape(2, 3, 2), block_size=2)


def test_pack_and_unpack_int4_match_keras():
    values = np.array([[-3, 7], [2, -8], [1, 0]], dtype="int8")
    packed, shape, length = q.pack_int4(values)
    assert packed.tolist() == [[45, -121], [1, 0]] and shape == (2, 2) and length == 3
    assert q.unpack_int4(packed, length).tolist() == values.tolist()
    wide = np.array([[-3, 7, 2], [-8, 1, 0]], dtype="int8")
    packed, shape, length = q.pack_int4(wide, axis=1)
    assert packed.tolist() == [[125, 2], [24, 0]] and (shape, length) == ((2, 2), 3)
    assert q.unpack_int4(packed, 3, axis=1).tolist() == wide.tolist()
    with pytest.raises(TypeError, match="int8 array of int4 values; received one of dtype "
                                        "float32"):
        q.pack_int4(values.astype("float32"))
    with pytest.raises(ValueError, match="dtype must be 'int8' or 'uint8'"):
        q.unpack_int4(packed, 3, dtype="int4")


def test_fake_quant_values_and_gradients_match_keras():
    x = jnp.array([-0.3, 0.26, 2.0, -1.5])
    np.testing.assert_allclose(q.fake_quant_with_min_max_vars(x, -1.0, 1.0, num_bits=2),
                               [0.0, 0.0, 0.6666666865348816, -1.3333333730697632], rtol=1e-6)
    per_channel = q.fake_quant_with_min_max_vars(
        np.array([[-0.3, 0.26], [2.0, -1.5]], "float32"), np.array([-1.0, -0.5]),
        np.array([1.0, 0.5]), num_bits=8, narrow_range=True, axis=1)
    np.testing.assert_allclose(per_channel, [[-0.29921260476112366, 0.25984251499176025],
                                             [1.0, -0.5]], rtol=1e-6)
    weights = jnp.array([1.0, 2.0, 3.0, 4.0])
    grads = jax.grad(lambda x, lo, hi: jnp.sum(
        q.fake_quant_with_min_max_vars(x, lo, hi, num_bits=2) * weights), argnums=(0, 1, 2))(
        x, jnp.float32(-1.0), jnp.float32(1.0))
    assert [np.asarray(g).tolist() for g in grads] == [[1.0, 2.0, 0.0, 0.0], 4.0, 3.0]


def test_float8_scaling_functions_match_keras():
    assert float(q.compute_float8_scale(jnp.float32(4.0), jnp.float32(1.0),
                                        jnp.float32(448.0))) == pytest.approx(0.0089285718)
    # No magnitude seen yet: the scale stays.
    assert float(q.compute_float8_scale(jnp.float32(0.0), jnp.float32(0.5),
                                        jnp.float32(448.0))) == 0.5
    assert q.compute_float8_amax_history(
        jnp.array([1.0, -3.0]), jnp.array([5.0, 6.0, 7.0])).tolist() == [3.0, 7.0, 5.0]
    assert q.quantize_and_dequantize(jnp.array([0.3, 1000.0, -0.01]), 1.0, "float8_e4m3fn",
                                     "float32").tolist() == [0.3125, 448.0, -0.009765625]
    assert q.quantize_and_dequantize(jnp.array([0.3, 70000.0]), 2.0, "float8_e5m2",
                                     "float32").tolist() == [0.3125, 65536.0]


def test_quantizers_and_configs_serialize_in_keras_format():
    assert q.serialize(q.AbsMaxQuantizer(axis=0)) == {
        "module": "keras.quantizers", "class_name": "AbsMaxQuantizer",
        "config": {"value_range": (-127, 127), "epsilon": 1e-07, "output_dtype": "int8",
                   "axis": (0,)}, "registered_name": None}
    config = q.serialize(q.Int8QuantizationConfig())
    assert config["class_name"] == "Int8QuantizationConfig"
    assert config["config"]["weight_quantizer"] is None
    assert config["config"]["activation_quantizer"]["class_name"] == "AbsMaxQuantizer"
    restored = q.deserialize(config)
    assert restored.mode == "int8" and restored.activation_quantizer.value_range == (-127, 127)
    assert q.deserialize(q.serialize(q.Int4QuantizationConfig(block_size=64))).block_size == 64
    assert q.deserialize(q.serialize(q.Float8QuantizationConfig())).mode == "float8"
    gptq = q.serialize(q.GPTQConfig(None, None))["config"]
    assert gptq["weight_bits"] == 4 and gptq["group_size"] == 128 and gptq["dataset"] is None
    assert q.GPTQConfig.from_config(gptq).dtype_policy_string() == "gptq/4/128"
    assert isinstance(q.get("abs_max_quantizer"), q.AbsMaxQuantizer)
    assert q.get(None) is None
    assert lamina.Quantizer is q.Quantizer


def test_configs_refuse_contradictions():
    with pytest.raises(ValueError, match=r"output_dtype='int8'.*Received: output_dtype='int4'"):
        q.Int8QuantizationConfig(weight_quantizer=q.AbsMaxQuantizer(output_dtype="int4"))
    with pytest.raises(ValueError, match=r"block_size must be None, -1.*block_size=0"):
        q.Int4QuantizationConfig(block_size=0)
    with pytest.raises(ValueError, match="grouped int4.*takes no custom quantizers"):
        q.Int4QuantizationConfig(weight_quantizer=q.AbsMaxQuantizer(value_range=(-8, 7)))
    with pytest.raises(ValueError, match=r"value_range=\(-8, 7\)"):
        q.Int4QuantizationConfig(weight_quantizer=q.AbsMaxQuantizer(), block_size=None)
    with pytest.raises(ValueError, match=r"within \[-128, 127\].*\(-200, 200\)"):
        q.AbsMaxQuantizer(value_range=(-200, 200))
    with pytest.raises(ValueError, match="weight_bits must be 2, 3, 4 or 8"):
        q.GPTQConfig(None, None, weight_bits=5)
    with pytest.raises(ValueError, match="AWQ quantizes to 4 bits only"):
        q.AWQConfig(None, None, weight_bits=8)


@pytest.mark.parametrize("name, cls, extra", [
    ("int8_from_float32", dtype_policies.QuantizedDTypePolicy, {}),
    ("int4_from_float32", dtype_policies.QuantizedDTypePolicy, {}),
    ("int4/128_from_mixed_bfloat16", dtype_policies.Int4DTypePolicy, {"block_size": 128}),
    ("float8_from_float32", dtype_policies.QuantizedFloat8DTypePolicy,
     {"amax_history_length": 1024}),
    ("gptq/4/-1_from_float32", dtype_policies.GPTQDTypePolicy,
     {"weight_bits": 4, "group_size": -1}),
    ("awq/4/128_from_float32", dtype_policies.AWQDTypePolicy,
     {"weight_bits": 4, "group_size": 128}),
])
def test_quantized_policies_by_name_and_config(name, cls, extra):
    policy = dtype_policies.get(name)
    assert type(policy) is cls and policy.name == name
    assert policy.quantization_mode == name.split("/")[0].split("_")[0]
    for attribute, value in extra.items():
        assert getattr(policy, attribute) == value
    config = dtype_policies.serialize(policy)
    assert config["module"] == "keras.dtype_policies" and config["class_name"] == cls.__name__
    assert dtype_policies.deserialize(config) == policy


def test_quantized_policy_configs_are_keras_configs():
    assert dtype_policies.serialize(dtype_policies.get("int4/128_from_float32"))["config"] == \
        {"mode": "int4/128", "source_name": "float32"}
    assert dtype_policies.get("int8_from_mixed_bfloat16").compute_dtype == "bfloat16"
    with pytest.raises(ValueError, match=r"Invalid mode for Int4DTypePolicy.*'int4/<block_size>'"):
        dtype_policies.Int4DTypePolicy("int4", "float32")
    with pytest.raises(ValueError, match="Invalid block_size in mode 'int4/0'"):
        dtype_policies.get("int4/0_from_float32")
    with pytest.raises(ValueError, match="compute_dtype='float16'"):
        dtype_policies.get("int8_from_float16")
    with pytest.raises(ValueError, match=r"expected '<mode>_from_<source policy>'"):
        dtype_policies.get("int8_from_")
