"""The runnable examples in the training modules' docstrings."""

import doctest

import numpy as np
import pytest

import lamina
from lamina.training import trainer


@pytest.mark.parametrize("module", [trainer], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    results = doctest.testmod(module, extraglobs={"lamina": lamina, "np": np},
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0
    assert results.failed == 0
