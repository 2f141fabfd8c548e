"""`keras.utils`: helpers that are not layers, models or ops."""

from lamina._runtime.rng import set_random_seed as set_random_seed
