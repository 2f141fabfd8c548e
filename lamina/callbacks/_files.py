"""Atomic file writes for callbacks (defined in `lamina._atomic`, shared with saving)."""

from lamina._atomic import atomic_output as atomic_output
from lamina._atomic import keep_suffix as keep_suffix
from lamina._atomic import remove_stale_temporaries as remove_stale_temporaries
from lamina._atomic import write_atomically as write_atomically
from lamina._atomic import write_text_atomically as write_text_atomically
