"""Random seed state: `SeedGenerator`, the global generator, and `set_random_seed`.

A SeedGenerator keeps its state in a Variable (`[seed, counter]`, uint32), and each draw returns
the current state as a JAX key and advances the counter. Because the state is a Variable, an
unseeded random op inside `keras.function` reads and advances it like any other carried state:
every call gets fresh numbers, and the sequence is reproducible from the seed.
"""

import random as python_random
import threading

import jax
import jax.numpy as jnp
import numpy as np

from lamina._registry import keras_export
from lamina._runtime import naming
from lamina._runtime.scope import outside_scopes
from lamina._runtime.variable import Variable

_MAX_SEED = 2**31 - 1


def make_default_seed():
    """A seed from Python's `random` module, which `set_random_seed` also seeds."""
    return python_random.randint(1, _MAX_SEED)


@keras_export("keras.random.SeedGenerator")
class SeedGenerator:
    """Produces a new random key at each draw; its state is a Variable.

    Args:
        seed: an int; None picks one from Python's `random` module (reproducible after
            `keras.utils.set_random_seed`).
        name: the name of the generator; its state Variable is `<name>/seed_generator_state`.

    Examples:
        >>> gen = lamina.random.SeedGenerator(42)
        >>> a = lamina.random.normal((2,), seed=gen)
        >>> b = lamina.random.normal((2,), seed=gen)   # different numbers, same sequence per seed
    """

    _lamina_tracked_as = "seed_generators"  # layers carry their generators' state

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs.pop("backend", None) not in (None, "jax"):
            raise ValueError("lamina's SeedGenerator only supports the JAX backend.")
        if kwargs:
            raise TypeError(f"Unrecognized arguments for SeedGenerator: {sorted(kwargs)}")
        if seed is None:
            seed = make_default_seed()
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(
                "SeedGenerator's seed must be an int or None. "
                f"Received: seed={seed!r} of type {type(seed).__name__}")
        self._initial_seed = int(seed)
        self.name = name or naming.unique_name("seed_generator")
        with naming.name_scope(self.name):
            self.state = Variable(
                np.array([self._initial_seed % 2**32, 0], dtype=np.uint32),
                dtype="uint32", trainable=False, name="seed_generator_state")

    def next(self, ordered=True):
        """Returns a fresh key (uint32 `[2]`) and advances the state."""
        del ordered
        key = self.state.value
        if isinstance(key, jax.core.Tracer):
            self.state.assign(key + jnp.array([0, 1], dtype=jnp.uint32))
        else:  # eagerly, on the host: a jnp addition would compile a program on first use
            self.state.assign(np.asarray(key) + np.array([0, 1], dtype=np.uint32))
        return key

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_global_lock = threading.Lock()
_global_generator = None


def global_seed_generator():
    """The process-wide generator used by random ops called without a seed."""
    global _global_generator
    if _global_generator is None:
        with _global_lock:
            if _global_generator is None:
                # Made outside any scope: it belongs to the process, not to the compiled
                # function that happens to draw from it first.
                with outside_scopes():
                    _global_generator = SeedGenerator(name="global_seed_generator")
    return _global_generator


def reset_global_seed_generator():
    """Forgets the global generator (part of `keras.utils.clear_session()`): the next unseeded
    draw makes a new one, seeded from Python's `random` as at start-up."""
    global _global_generator
    with _global_lock:
        _global_generator = None


def set_random_seed(seed):
    """Seeds Python's `random`, NumPy's global generator and lamina's global generator.

    After `set_random_seed(s)`, a program that creates and trains models gives the same numbers
    on every run: initializers, dropout and shuffling all draw from these.

    Examples:
        >>> lamina.utils.set_random_seed(7)
        >>> first = lamina.layers.Dense(2)(np.ones((1, 3)))
        >>> lamina.utils.set_random_seed(7)
        >>> bool((lamina.layers.Dense(2)(np.ones((1, 3))) == first).all())  # same initial weights
        True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(
            f"set_random_seed expects an int. Received: seed={seed!r} of type "
            f"{type(seed).__name__}")
    seed = int(seed)
    generator = global_seed_generator()  # first, so creating it draws nothing after seeding
    python_random.seed(seed)
    np.random.seed(seed % 2**32)
    generator._initial_seed = seed
    generator.state.assign(np.array([seed % 2**32, 0], dtype=np.uint32))


def draw_seed(seed):
    """Turns a `seed` argument (None, int, SeedGenerator or key array) into a JAX key."""
    if seed is None:
        return global_seed_generator().next()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        # Keras 3 on JAX uses the raw key [seed, 0], so int-seeded draws match Keras exactly.
        return jnp.array([int(seed) % 2**32, 0], dtype=jnp.uint32)
    if isinstance(seed, Variable):
        seed = seed.value
    if isinstance(seed, (jax.Array, np.ndarray)) and seed.shape == (2,):
        return jnp.asarray(seed, dtype=jnp.uint32)
    raise ValueError(
        "A random op's seed must be None, an int, a keras.random.SeedGenerator, or a uint32 "
        f"key of shape (2,). Received: seed={seed!r} of type {type(seed).__name__}")
