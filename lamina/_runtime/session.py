"""`keras.utils.clear_session` (also `keras.backend.clear_session`): forget process-wide state.

Keras keeps its process-wide state in one table and `clear_session` replaces the table. lamina's
state lives with the module that owns it, so each owner below the runtime resets its own part
here, and owners above it (the global dtype policy) register a reset with `on_clear_session`.
Settings that Keras keeps outside that table (floatx, epsilon, the image data format,
registered custom objects) survive, as they do in Keras.
"""

import gc
import threading

from lamina._runtime import config, naming, rng

_resets = []
_resets_lock = threading.Lock()


def on_clear_session(reset):
    """Registers `reset()` to run at every `clear_session()`; returns it (a decorator)."""
    with _resets_lock:
        _resets.append(reset)
    return reset


def clear_session(free_memory=True):
    """Resets the process-wide state that Keras resets: auto-name counters, the global random
    generator, the global dtype policy and the interactive-logging switch.

    Call it between models built in a loop so that layer names start again at `dense`, and so
    that a model's unseeded random draws do not depend on what ran before it.

    * auto-names: the next unnamed `Dense` is `dense` again;
    * random: the global seed generator is dropped; the next unseeded draw makes a new one,
      seeded from Python's `random` (so `set_random_seed` before the draw makes it
      reproducible). Models already built keep the generator they were compiled with;
    * `keras.config.set_dtype_policy(...)` goes back to the `floatx()` policy;
    * interactive logging is enabled again.

    Objects, Variables and their compiled programs are not touched: they are freed with the
    last reference to them. `floatx`, `epsilon`, the image data format and registered custom
    objects are kept, as in Keras.

    Args:
        free_memory: whether to run Python's garbage collector afterwards (Keras's default),
            so that dropped models release their device buffers now. It takes a moment; pass
            `False` in a tight loop.

    Examples:
        >>> _ = [lamina.layers.Dense(1) for _ in range(3)]
        >>> lamina.utils.clear_session()
        >>> lamina.layers.Dense(1).name
        'dense'
    """
    naming.reset_names()
    rng.reset_global_seed_generator()
    config.enable_interactive_logging()
    with _resets_lock:
        resets = list(_resets)
    for reset in resets:
        reset()
    if free_memory:
        gc.collect()
