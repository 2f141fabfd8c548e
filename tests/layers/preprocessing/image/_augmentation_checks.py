"""Checks shared by the tests of the colour, intensity, histogram and mixing layers.

`IMAGES` is the small batch the Keras numbers in those tests were computed on (Keras 3.15,
JAX backend, the same seeds): two 2x2 RGB images with values spread over [0, 255].
"""

import jax
import numpy as np

import lamina

IMAGES = (np.arange(24).reshape(2, 2, 2, 3) * 37 % 256).astype("float32")
LABELS = np.array([[1, 0], [0, 1]], "float32")


def output(layer, data=IMAGES, training=True):
    return jax.tree_util.tree_map(np.asarray, layer(data, training=training))


def first_calls(cases, data_of=lambda case: IMAGES):
    """Per case (`name: (make_layer, ...)`), one layer's first two training calls and an
    inference call: each layer compiles one program per signature, so tests share these."""
    results = {}
    for case, (make, *_) in cases.items():
        layer, data = make(), data_of(case)
        results[case] = (output(layer, data), output(layer, data),
                         output(layer, data, training=False))
    return results


def check_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer) and clone.get_config() == config


def check_within(values, low, high):
    values = np.asarray(values)
    assert values.min() >= low and values.max() <= high, (values.min(), values.max())


def lamina_layer(name, **kwargs):
    return getattr(lamina.layers, name)(**kwargs)
