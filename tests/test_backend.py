"""keras.backend: Keras 3.15.1's 14 names, result_type against Keras's promotion table."""

import jax
import numpy as np
import pytest

import lamina
from lamina import backend

# keras.backend.result_type(row, column) computed with Keras 3.15.1 on JAX (floatx float32).
# "!" marks a ValueError (float8 never promotes implicitly).
_NAMES = {
    "b": "bool", "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64", "i8": "int8",
    "i16": "int16", "i32": "int32", "i64": "int64", "bf16": "bfloat16", "f16": "float16",
    "f32": "float32", "f64": "float64", "c64": "complex64", "c128": "complex128",
    "f8a": "float8_e4m3fn", "f8b": "float8_e5m2", "int": int, "float": float, "None": None,
}
_KERAS_TABLE = [
    "b    : b    u8   u16  u32  u32  i8   i16  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i32  f32  f32",
    "u8   : u8   u8   u16  u32  u32  i16  i16  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    u8   f32  f32",
    "u16  : u16  u16  u16  u32  u32  i32  i32  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    u16  f32  f32",
    "u32  : u32  u32  u32  u32  u32  i32  i32  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    u32  f32  f32",
    "u64  : u32  u32  u32  u32  u32  f32  f32  f32  f32  bf16 f16  f32  f32  c64  c64  !    !    u32  f32  f32",
    "i8   : i8   i16  i32  i32  f32  i8   i16  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i8   f32  f32",
    "i16  : i16  i16  i32  i32  f32  i16  i16  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i16  f32  f32",
    "i32  : i32  i32  i32  i32  f32  i32  i32  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i32  f32  f32",
    "i64  : i32  i32  i32  i32  f32  i32  i32  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i32  f32  f32",
    "bf16 : bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 f32  f32  f32  c64  c64  !    !    bf16 bf16 f32",
    "f16  : f16  f16  f16  f16  f16  f16  f16  f16  f16  f32  f16  f32  f32  c64  c64  !    !    f16  f16  f32",
    "f32  : f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  c64  c64  !    !    f32  f32  f32",
    "f64  : f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  c64  c64  !    !    f32  f32  f32",
    "c64  : c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  !    !    c64  c64  c64",
    "c128 : c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  !    !    c64  c64  c64",
    "f8a  : !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !",
    "f8b  : !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !    !",
    "int  : i32  u8   u16  u32  u32  i8   i16  i32  i32  bf16 f16  f32  f32  c64  c64  !    !    i32  f32  f32",
    "float: f32  f32  f32  f32  f32  f32  f32  f32  f32  bf16 f16  f32  f32  c64  c64  !    !    f32  f32  f32",
    "None : f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  c64  c64  !    !    f32  f32  f32",
]
_COLUMNS = ["b", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bf16", "f16", "f32", "f64",
            "c64", "c128", "f8a", "f8b", "int", "float", "None"]


def _table():
    for line in _KERAS_TABLE:
        row, results = line.split(":")
        for column, result in zip(_COLUMNS, results.split()):
            yield _NAMES[row.strip()], _NAMES[column], result


def test_backend_exports_keras_fourteen_names():
    assert sorted(backend.__all__) == [
        "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
        "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
        "set_floatx", "set_image_data_format", "standardize_dtype"]
    assert all(callable(getattr(backend, name)) for name in backend.__all__)


def test_result_type_matches_keras_for_every_pair():
    for a, b, expected in _table():
        if expected == "!":
            with pytest.raises(ValueError, match="float8"):
                backend.result_type(a, b)
        else:
            assert backend.result_type(a, b) == _NAMES[expected], (a, b)


def test_result_type_with_one_three_or_no_dtypes():
    assert backend.result_type() == "float32"
    assert backend.result_type(None) == "float32"
    assert backend.result_type("float64") == "float32"   # Keras on JAX: 64-bit comes back 32
    assert backend.result_type(np.float16) == "float16"
    assert backend.result_type(bool) == "bool" and backend.result_type(int, int) == "int32"
    assert backend.result_type("int8", "uint8", "float16") == "float16"
    assert backend.result_type("bfloat16", "float16", "int8") == "float32"
    assert backend.result_type(jax.numpy.ones(2, "int16").dtype, int) == "int16"


def test_weak_types_take_the_precision_of_floatx():
    # Computed with Keras 3.15.1 after keras.config.set_floatx("float16").
    lamina.config.set_floatx("float16")
    try:
        assert backend.result_type(int, float) == "float16"
        assert backend.result_type("int8", float) == "float16"
        assert backend.result_type(float) == "float16"
        assert backend.result_type("uint8", int) == "uint8"
    finally:
        lamina.config.set_floatx("float32")


def test_result_type_names_the_argument_that_is_not_a_dtype():
    with pytest.raises(ValueError, match=r"argument 1 is not a dtype. Received: 'xyz'"):
        backend.result_type("float32", "xyz")
    with pytest.raises(ValueError, match=r"argument 0 is not a dtype. Received: 3"):
        backend.result_type(3)


def test_is_float_and_is_int_dtype():
    dtypes = ["float8_e5m2", "bfloat16", "int8", "uint64", "bool", "complex64", None, float, int]
    # Computed with Keras 3.15.1.
    assert [backend.is_float_dtype(d) for d in dtypes] == [
        True, True, False, False, False, False, True, True, False]
    assert [backend.is_int_dtype(d) for d in dtypes] == [
        False, False, True, True, False, False, False, False, True]
    with pytest.raises(ValueError, match=r"is_float_dtype: `dtype` is not a dtype"):
        backend.is_float_dtype("floaty")


def test_get_uid_shares_the_auto_name_counter():
    assert backend.get_uid("lamina_test_uid_prefix") == 1
    assert backend.get_uid("lamina_test_uid_prefix") == 2
    layer = lamina.layers.Layer(name=None)
    prefix = layer.name.rsplit("_", 1)[0] if layer.name[-1].isdigit() else layer.name
    following = backend.get_uid(prefix)
    assert lamina.layers.Layer().name == f"{prefix}_{following}"
    with pytest.raises(TypeError, match=r"`prefix` must be a string.*Received: prefix=3"):
        backend.get_uid(3)


def test_is_keras_tensor():
    inputs = lamina.Input((3,))
    assert backend.is_keras_tensor(inputs)
    assert backend.is_keras_tensor(lamina.layers.Dense(2)(inputs))
    assert not backend.is_keras_tensor(np.ones((1, 3)))
    assert not backend.is_keras_tensor(lamina.Variable(1.0))


def test_backend_is_jax():
    assert backend.backend() == "jax" and lamina.config.backend() == "jax"
