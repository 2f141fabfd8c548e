"""Shared timing helpers: medians of interleaved repeats, so machine noise hits both sides."""

import statistics
import time

import jax


def per_call_seconds(fn, calls, repeats, *, sync):
    """Median over `repeats` of the mean time of `calls` calls; `sync()` blocks on results."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def interleaved(candidates, calls, repeats, sync):
    """Times each candidate in turn, `repeats` rounds; returns {name: median seconds per call}."""
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            samples[name].append(per_call_seconds(fn, calls, 1, sync=sync[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def block(tree):
    jax.block_until_ready(tree)
