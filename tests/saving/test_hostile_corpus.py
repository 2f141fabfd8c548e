"""The hostile-file corpus (tests/saving/_hostile_files.py), loaded as a victim would load it.

For every file: the load raises a clear error of a Keras exception class (never a bare
RecursionError, KeyError or a crash), no attack ran (the sentinel file is never created, the
process-wide loading settings are unchanged), nothing outside the file was opened or written
(tests/saving/_load_watch.py), and the load stayed within bounded time and memory.
"""

import os
import re

import numpy as np
import pytest

from saving import _hostile_files as corpus
import lamina as keras
from saving._load_watch import LoadWatch, measure
from lamina import _serialization as serialization

ENTRIES = corpus.corpus()
# A genuine load takes milliseconds; a bomb that is not stopped takes many seconds and GiBs.
TIME_LIMIT_S = 10.0
MEMORY_LIMIT_BYTES = 512 * 2**20
# What a refusal may be: the exceptions Keras raises for bad files.
REFUSALS = (ValueError, TypeError, OSError, MemoryError)


def test_the_corpus_covers_every_class_and_the_published_advisories():
    categories = {entry.category for entry in ENTRIES}
    assert categories == {"config", "json", "zip", "hdf5", "allocation"}
    assert len(ENTRIES) > 100
    references = " ".join(entry.references for entry in ENTRIES)
    for advisory in ("CVE-2024-3660", "CVE-2025-1550", "CVE-2025-8747", "CVE-2025-9905",
                     "CVE-2025-9906", "CVE-2025-12058", "CVE-2025-49655", "CVE-2026-1462"):
        assert advisory in references
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)


def test_a_clean_file_loads_under_the_same_watch(tmp_path):
    """The harness itself: a genuine archive loads with no violation and within the bounds."""
    path = corpus.write_archive(tmp_path / "clean.keras", corpus.clean_entries())
    with LoadWatch.instance().watching([path]) as watch, measure() as cost:
        model = keras.models.load_model(path)
    assert watch.violations == []
    assert cost.seconds < TIME_LIMIT_S
    assert model(np.ones((1, 3), "float32")).shape == (1, 2)


def test_the_watch_sees_what_an_attack_would_do(tmp_path):
    """A test of the witness: the side effects the corpus rules out are all seen."""
    with LoadWatch.instance().watching([]) as watch:
        open(tmp_path / "written", "w").close()
        os.system("true")
        exec(compile("1", "<attack>", "eval"))
        os.remove(tmp_path / "written")
    seen = " ".join(watch.violations)
    for effect in ("open(", "os.system", "exec", "os.remove"):
        assert effect in seen, watch.violations


def _load(entry, path, model):
    if entry.load == "load_weights":
        model.load_weights(path)
        return
    kwargs = {} if entry.safe_mode is None else {"safe_mode": entry.safe_mode}
    keras.models.load_model(path, **kwargs)


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_hostile_file_is_refused_without_side_effects(entry, tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_unsafe_everywhere", False)
    folder = tmp_path / "files"
    folder.mkdir()
    sentinel = tmp_path / "sentinel"
    path = entry.build(str(folder), sentinel)
    model = corpus.clean_model() if entry.load == "load_weights" else None
    before = [w.copy() for w in model.get_weights()] if model is not None else None
    error = None
    with LoadWatch.instance().watching([path]) as watch, measure() as cost:
        try:
            _load(entry, path, model)
        except REFUSALS as caught:
            error = caught
    assert not sentinel.exists(), "the attack ran"
    assert serialization.in_safe_mode() is not False, "unsafe loading was switched on"
    assert watch.violations == [], watch.violations
    assert cost.seconds < TIME_LIMIT_S, f"took {cost.seconds:.1f} s"
    assert cost.peak_growth_bytes < MEMORY_LIMIT_BYTES, (
        f"peak memory grew by {cost.peak_growth_bytes / 2**20:.0f} MiB")
    if error is None:
        assert entry.load == "load_model_or_pass", "the hostile file loaded"
        return
    assert re.search(entry.refusal, str(error), re.IGNORECASE), str(error)
    if before is not None:  # a refused load changes nothing
        for old, new in zip(before, model.get_weights()):
            np.testing.assert_array_equal(old, new)
