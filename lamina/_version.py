"""lamina's version, in a module of its own so that any part of the library (the `.keras`
archive metadata, for one) can read it without importing the package's top-level facade."""

__version__ = "0.1.0"


def version():
    """lamina's version, as a string (`keras.version()`; the `.keras` files it writes declare
    the Keras file-format version separately).

    Examples:
        >>> lamina.version() == lamina.__version__
        True
    """
    return __version__
