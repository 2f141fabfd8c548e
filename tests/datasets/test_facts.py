"""The URLs, cache names and hashes are Keras 3's, so caches are interchangeable."""

import importlib
import inspect

import pytest

import lamina
from lamina.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

# Read before the autouse fixture points ORIGIN_BASE at 127.0.0.1.
DEFAULTS = {module.__name__: module.ORIGIN_BASE
            for module in (mnist, fashion_mnist, cifar10, cifar100, boston_housing,
                           california_housing, imdb, reuters)}


@pytest.mark.parametrize("module, keras_name, facts", [
    (mnist, "mnist", lambda m: [m.FILE_NAME, m.FILE_HASH]),
    (boston_housing, "boston_housing", lambda m: [m.FILE_NAME, m.FILE_HASH]),
    (california_housing, "california_housing", lambda m: [m.FILE_NAME, m.FILE_HASH]),
    (imdb, "imdb", lambda m: [m.FILE_NAME, m.FILE_HASH, m.WORD_INDEX_NAME, m.WORD_INDEX_HASH]),
    (cifar10, "cifar10", lambda m: [m.FILE_NAME, m.FILE_HASH, m.CACHE_NAME]),
    (cifar100, "cifar100", lambda m: [m.FILE_NAME, m.FILE_HASH, m.CACHE_NAME]),
    (reuters, "reuters", lambda m: [m.FILE_NAME, m.FILE_HASH, m.WORD_INDEX_NAME,
                                    m.WORD_INDEX_HASH]),
    (fashion_mnist, "fashion_mnist", lambda m: list(m.FILE_HASHES) + ["fashion-mnist"]),
], ids=lambda value: getattr(value, "__name__", None) if inspect.ismodule(value) else None)
def test_urls_names_and_hashes_match_keras(keras_reference, module, keras_name, facts):
    source = inspect.getsource(importlib.import_module(f"keras.src.datasets.{keras_name}"))
    for fact in facts(module) + [DEFAULTS[module.__name__]]:
        assert fact in source, f"{fact!r} is not in Keras's {keras_name}.py"


def test_public_surface():
    assert lamina.datasets.mnist is mnist
    for module in (mnist, fashion_mnist, cifar10, cifar100, boston_housing, california_housing,
                   imdb, reuters):
        assert callable(module.load_data) and module.load_data.__doc__
    assert callable(imdb.get_word_index) and callable(reuters.get_word_index)
    assert lamina.utils.get_file.__module__ == "lamina.utils.file_utils"
    signatures = {
        mnist: "(path='mnist.npz')",
        fashion_mnist: "()",
        cifar10: "()",
        boston_housing: "(path='boston_housing.npz', test_split=0.2, seed=113)",
        california_housing:
            "(version='large', path='california_housing.npz', test_split=0.2, seed=113)",
        imdb: "(path='imdb.npz', num_words=None, skip_top=0, maxlen=None, seed=113, "
              "start_char=1, oov_char=2, index_from=3, **kwargs)",
        cifar100: "(label_mode='fine')",
        reuters: "(path='reuters.npz', num_words=None, skip_top=0, maxlen=None, test_split=0.2, "
                 "seed=113, start_char=1, oov_char=2, index_from=3)",
    }
    for module, signature in signatures.items():
        assert str(inspect.signature(module.load_data)) == signature
