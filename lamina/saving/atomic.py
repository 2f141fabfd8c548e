"""Atomic file output for saving: `atomic_output` (defined in `lamina._atomic`, which the
callbacks share; see there for what a save guarantees at any kill point)."""

from lamina._atomic import atomic_output as atomic_output
from lamina._atomic import remove_stale_temporaries as remove_stale_temporaries
