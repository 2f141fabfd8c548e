import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras


def test_int_seed_gives_the_same_numbers_every_call():
    a = keras.random.normal((3,), seed=7)
    b = keras.random.normal((3,), seed=7)
    np.testing.assert_array_equal(a, b)


def test_seed_generator_gives_a_reproducible_stream():
    gen = keras.random.SeedGenerator(42)
    first = [keras.random.uniform((2,), seed=gen) for _ in range(2)]
    assert not np.allclose(first[0], first[1])
    gen2 = keras.random.SeedGenerator(42)
    again = [keras.random.uniform((2,), seed=gen2) for _ in range(2)]
    np.testing.assert_array_equal(first, again)
    assert gen.state.path.endswith("seed_generator_state") and not gen.state.trainable


def test_set_random_seed_makes_unseeded_calls_reproducible():
    keras.utils.set_random_seed(123)
    a = [keras.random.normal((2,)), np.random.rand(), keras.random.SeedGenerator().next()]
    keras.utils.set_random_seed(123)
    b = [keras.random.normal((2,)), np.random.rand(), keras.random.SeedGenerator().next()]
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])


def test_unseeded_random_inside_function_is_fresh_each_call_and_reproducible():
    @keras.function
    def noise():
        return keras.random.normal((4,))

    keras.utils.set_random_seed(1)
    run1 = [noise(), noise()]
    assert not np.allclose(run1[0], run1[1])
    keras.utils.set_random_seed(1)
    run2 = [noise(), noise()]
    np.testing.assert_array_equal(run1, run2)
    assert noise.tracing_count == 2  # discovered the global seed state once


def test_distributions_have_the_right_support_and_moments():
    x = keras.random.normal((20000,), mean=2.0, stddev=3.0, seed=0)
    assert abs(float(jnp.mean(x)) - 2.0) < 0.1 and abs(float(jnp.std(x)) - 3.0) < 0.1
    t = keras.random.truncated_normal((20000,), stddev=2.0, seed=0)
    assert float(jnp.max(jnp.abs(t))) <= 4.0
    u = keras.random.uniform((1000,), 1.0, 2.0, seed=0)
    assert float(u.min()) >= 1.0 and float(u.max()) < 2.0
    r = keras.random.randint((1000,), 0, 5, seed=0)
    assert r.dtype == jnp.int32 and set(np.unique(r).tolist()) == {0, 1, 2, 3, 4}
    s = keras.random.shuffle(jnp.arange(10), seed=0)
    assert sorted(s.tolist()) == list(range(10))
    c = keras.random.categorical(jnp.log(jnp.array([[0.0, 1.0]])), 5, seed=0)
    assert c.tolist() == [[1] * 5]


def test_dropout_keeps_expectation():
    x = jnp.ones((10000,))
    y = keras.random.dropout(x, 0.25, seed=3)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(float(jnp.mean(y)) - 1.0) < 0.05
    with pytest.raises(ValueError, match="rate must be in"):
        keras.random.dropout(x, 1.5)


def test_dropout_noise_shape_broadcasts():
    y = keras.random.dropout(jnp.ones((4, 6)), 0.5, noise_shape=(4, 1), seed=0)
    for row in np.asarray(y):
        assert len(set(row.tolist())) == 1


def test_bad_seed_and_dtype_are_explained():
    with pytest.raises(ValueError, match="seed must be None, an int"):
        keras.random.normal((2,), seed="x")
    with pytest.raises(ValueError, match="randint"):
        keras.random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="int or None"):
        keras.random.SeedGenerator(1.5)


def test_unseeded_random_in_raw_jit_explains_how_to_fix():
    with pytest.raises(RuntimeError, match="keras.function"):
        jax.jit(lambda: keras.random.normal((2,)))()
