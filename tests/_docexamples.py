"""The one helper that runs docstring examples (`>>>` lines, through `doctest`).

Examples run in their module's namespace plus `GLOBALS`, the names every example may
use without importing them (`lamina`, `keras` as its alias, `np`, `jnp`, `jax`, `ops`, `tf`).
"""

import doctest
import io

import jax
import jax.numpy as jnp
import numpy as np

import lamina
from lamina import ops
from lamina.compat import tf

GLOBALS = {"lamina": lamina, "keras": lamina, "np": np, "jnp": jnp, "jax": jax, "ops": ops,
           "tf": tf}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_docstring_examples(module, extraglobs=None):
    """Runs every docstring example found in `module` (its own objects, not re-exports).

    Returns `(attempted, failures, report)`: the number of examples run, the number that
    failed, and doctest's report of the failures (empty when none failed).
    """
    globs = dict(GLOBALS, **(extraglobs or {}))
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = io.StringIO()
    for test in doctest.DocTestFinder().find(module, module.__name__, extraglobs=globs):
        runner.run(test, out=report.write)
    return runner.tries, runner.failures, report.getvalue()
