"""Fuzzing the loader with mutated archives (tests/saving/_mutants.py), from a fixed seed.

Every mutant must load or be refused with a clear error of a Keras exception class, within a
time bound, with no side effect outside the load; a loaded model must run on data of its
input shape or refuse it cleanly. A failure names the seed and index that reproduce it
(`scripts/fuzz_loading.py --seed S --start I --count 1`).
"""

import numpy as np
import pytest

from saving import _mutants as mutants
import lamina as keras
from saving._load_watch import LoadWatch, measure

SEED = 2026
COUNT = 160
TIME_LIMIT_S = 10.0


def check_mutant(path):
    """Loads one mutant; returns None if all is well, else what went wrong."""
    with LoadWatch.instance().watching([path]) as watch, measure() as cost:
        try:
            model = keras.models.load_model(path)
        except mutants.REFUSALS:
            model = None
        except Exception as error:  # noqa: BLE001 - anything else is the finding
            return f"{type(error).__name__}: {error}"
    if watch.violations:
        return f"side effects: {watch.violations}"
    if cost.seconds > TIME_LIMIT_S:
        return f"took {cost.seconds:.1f} s"
    if model is not None:
        try:
            model(np.ones((2, 4), "float32"))
        except mutants.REFUSALS:
            pass
        except Exception as error:  # noqa: BLE001
            return f"the loaded model fails with {type(error).__name__}: {error}"
    return None


@pytest.mark.parametrize("chunk", range(8))
def test_mutated_archives_load_or_are_refused_cleanly(chunk, tmp_path):
    failures = []
    for index in range(chunk, COUNT, 8):
        data, change = mutants.mutant(SEED, index)
        path = tmp_path / f"mutant_{index}.keras"
        path.write_bytes(data)
        problem = check_mutant(str(path))
        if problem:
            failures.append(f"seed {SEED} index {index} ({change}): {problem[:300]}")
    assert not failures, "\n".join(failures)
