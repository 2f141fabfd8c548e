"""Shared test fixtures."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with auto-names counting from zero (`dense`, not `dense_7`)."""
    from lamina._runtime import naming

    naming.reset_names()
    yield
