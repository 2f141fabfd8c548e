import jax
import numpy as np
import pytest

import lamina


def _in_all_modes(fn, *args, rtol=1e-6, atol=1e-6):
    """Runs `fn(*args)` eagerly, with array arguments as Variables, under jax.jit and under
    keras.function; asserts they agree and returns the eager result."""
    expected = fn(*args)
    as_variables = [lamina.Variable(a) if isinstance(a, (np.ndarray, jax.Array)) else a
                    for a in args]
    array_positions = [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, jax.Array))]

    def with_arrays(*arrays):
        call_args = list(args)
        for i, a in zip(array_positions, arrays):
            call_args[i] = a
        return fn(*call_args)

    arrays = [args[i] for i in array_positions]
    results = {
        "variables": fn(*as_variables),
        "jax.jit": jax.jit(with_arrays)(*arrays),
        "keras.function": lamina.function(with_arrays)(*arrays),
    }
    for mode, result in results.items():
        jax.tree_util.tree_map(
            lambda a, b, mode=mode: np.testing.assert_allclose(
                np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=True,
                err_msg=f"mode: {mode}"),
            expected, result)
    return expected


@pytest.fixture
def in_all_modes():
    return _in_all_modes
