"""Traceback filtering: errors raised through lamina's entry points show the user's frames.

An error in a custom layer's `call`, or a bad argument to `fit`, travels through a dozen of
lamina's own frames (the layer protocol, tracing, the trainer's loops) before it reaches the
user. Those frames say nothing the user can act on, so the public entry points (`Layer.__call__`,
`fit`, `evaluate`, `predict`, the `*_on_batch` methods, the saving functions) are wrapped by
`filter_traceback`: when an exception leaves one, the frames of files inside the `lamina`
package are cut from its traceback (and from the tracebacks of the exceptions chained to it);
the user's frames, including the one that raised, stay. One lamina frame remains, the wrapper's
`raise`, which names the switch that shows everything:
`keras.config.disable_traceback_filtering()`.

On the happy path the wrapper costs one Python call and a `try` (no work unless an exception
passes), so it can sit on `Layer.__call__`.
"""

import functools
import os
import types

_ENABLED = True
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def enable_traceback_filtering():
    """Cuts lamina's internal frames from the tracebacks of errors raised through its entry
    points (`fit`, a layer call, ...), so they show your code (the default).

    Examples:
        >>> lamina.config.enable_traceback_filtering()
        >>> lamina.config.is_traceback_filtering_enabled()
        True
    """
    global _ENABLED
    _ENABLED = True


def disable_traceback_filtering():
    """Shows lamina's internal frames in tracebacks again (to debug lamina itself, or to
    report a bug in it).

    Examples:
        >>> lamina.config.disable_traceback_filtering()
        >>> lamina.config.is_traceback_filtering_enabled()
        False
        >>> lamina.config.enable_traceback_filtering()
    """
    global _ENABLED
    _ENABLED = False


def is_traceback_filtering_enabled():
    """Whether tracebacks are filtered (see `enable_traceback_filtering`); True by default.

    Examples:
        >>> lamina.config.is_traceback_filtering_enabled()
        True
    """
    return _ENABLED


def _is_internal(frame):
    return frame.f_code.co_filename.startswith(_PACKAGE)


def _filtered(traceback):
    """`traceback` without the entries of lamina's files (None when none is left)."""
    kept = [(entry.tb_frame, entry.tb_lasti, entry.tb_lineno) for entry in _entries(traceback)
            if not _is_internal(entry.tb_frame)]
    filtered = None
    for frame, lasti, lineno in reversed(kept):
        filtered = types.TracebackType(filtered, frame, lasti, lineno)
    return filtered


def _entries(traceback):
    while traceback is not None:
        yield traceback
        traceback = traceback.tb_next


def _filter_chain(error):
    """Filters the tracebacks of the exceptions chained to `error` (its cause and context)."""
    seen = {id(error)}
    linked = error.__cause__ or error.__context__
    while linked is not None and id(linked) not in seen and len(seen) < 100:
        seen.add(id(linked))
        linked.__traceback__ = _filtered(linked.__traceback__)
        linked = linked.__cause__ or linked.__context__


def filter_traceback(function):
    """Wraps a public entry point so that exceptions leaving it show no lamina frames."""

    @functools.wraps(function)
    def entry_point(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if not _ENABLED:
                raise
            _filter_chain(error)
            tb = _filtered(error.__traceback__)
            # The traceback shows this line: it says how to see the frames cut from it.
            raise error.with_traceback(tb)  # see all: keras.config.disable_traceback_filtering()

    return entry_point
