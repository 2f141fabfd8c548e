"""lamina's version, in a module of its own so that any part of the library (the `.keras`
archive metadata, for one) can read it without importing the package's top-level facade."""

__version__ = "0.1.0"
