"""Augmentation policies built from the other image layers: `RandAugment` (a few operations
picked at random from a fixed list) and `AugMix` (random chains of operations, mixed).

Both pick their operations on the device, from the seed, with `lax.switch`: only the chosen
operation runs, and the choice changes at every step of a compiled training loop.
"""

import jax
import jax.numpy as jnp

from lamina import random
from lamina._registry import keras_export
from lamina._runtime.rng import SeedGenerator, draw_seed
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from lamina.layers.preprocessing.image.color import (
    CompiledEagerCalls,
    RandomBrightness,
    RandomColorDegeneration,
    RandomContrast,
    _is_number,
    check_value_range,
)
from lamina.layers.preprocessing.image.geometric import (
    RandomRotation,
    RandomShear,
    RandomTranslation,
)
from lamina.layers.preprocessing.image.histogram import Equalization
from lamina.layers.preprocessing.image.intensity import (
    AutoContrast,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)

__all__ = ["AugMix", "RandAugment"]


def _build_operations(layer, names, value_range, interpolation, seed, data_format, kwargs):
    """The inner layers of a policy, as Keras 3 configures them from the policy's `factor`."""
    factor = layer.factor
    kwargs = {k: v for k, v in kwargs.items() if k not in ("name", "trainable")}
    common = dict(seed=seed, data_format=data_format, **kwargs)
    colour = dict(value_range=value_range, **common)
    makers = {
        "random_shear": lambda: RandomShear(x_factor=factor, y_factor=factor,
                                            interpolation=interpolation, **common),
        "random_translation": lambda: RandomTranslation(
            height_factor=factor, width_factor=factor, interpolation=interpolation, **common),
        "random_rotation": lambda: RandomRotation(factor=factor, interpolation=interpolation,
                                                  **common),
        "random_brightness": lambda: RandomBrightness(factor=factor, **colour),
        "random_color_degeneration": lambda: RandomColorDegeneration(factor=factor, **colour),
        "random_contrast": lambda: RandomContrast(factor=factor, **colour),
        "random_sharpness": lambda: RandomSharpness(factor=factor, **colour),
        "random_posterization": lambda: RandomPosterization(
            factor=max(1, int(8 * factor[1])), **colour),
        "solarization": lambda: Solarization(addition_factor=factor, threshold_factor=factor,
                                             **colour),
        "auto_contrast": lambda: AutoContrast(value_range=value_range,
                                              data_format=data_format, **kwargs),
        "equalization": lambda: Equalization(value_range=value_range, data_format=data_format,
                                             **kwargs),
    }
    for name in names:
        setattr(layer, name, makers[name]())


class _KeySeeds(SeedGenerator):
    """Seeds drawn from one key inside a `lax.switch` branch (a Variable cannot be assigned
    there): the i-th draw uses `fold_in(key, i)`."""

    def __init__(self, key):  # no state Variable: this lives only inside one trace
        self._key, self._count = key, 0

    def next(self, ordered=True):
        self._count += 1
        return jax.random.fold_in(self._key, self._count)


def _check_count(layer, value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"{layer._describe()}: `{name}` should be a positive int. Received: "
            f"{name}={value!r}")


@keras_export("keras.layers.RandAugment")
class RandAugment(CompiledEagerCalls, BaseImagePreprocessingLayer):
    """RandAugment (Cubuk et al., 2019): during training, applies `num_ops` operations in a
    row, each picked at random (for the whole batch) from shear, translation, rotation,
    brightness, colour degeneration, contrast, sharpness, posterization, solarization,
    auto-contrast and equalization, all of strength `factor`.

    As in Keras 3, every operation's random parameters are drawn at each call (so a seeded
    layer gives Keras's numbers), but only the chosen operations run. Bounding boxes and
    segmentation masks follow their images through the geometric operations.

    Args:
        value_range: the images' `(min, max)`.
        num_ops: how many operations to apply.
        factor: the strength of every operation, a number or pair in `[0, 1]`.
        interpolation: `"bilinear"` or `"nearest"`, for the geometric operations.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandAugment(value_range=(0, 1), num_ops=2, seed=0)
        >>> out = layer(np.random.rand(2, 8, 8, 3))
        >>> out.shape, bool(((out >= 0) & (out <= 1)).all())
        ((2, 8, 8, 3), True)
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _AUGMENT_LAYERS = [
        "random_shear", "random_translation", "random_rotation", "random_brightness",
        "random_color_degeneration", "random_contrast", "random_sharpness",
        "random_posterization", "solarization", "auto_contrast", "equalization",
    ]

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range, sort=False)
        _check_count(self, num_ops, "num_ops")
        self.num_ops = num_ops
        self._set_factor(factor)
        self.interpolation = interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        _build_operations(self, self._AUGMENT_LAYERS, value_range, interpolation, seed,
                          data_format, kwargs)

    def _operations(self):
        return [getattr(self, name) for name in self._AUGMENT_LAYERS]

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        seed = seed or self.generator
        chosen = random.randint((self.num_ops,), 0, len(self._AUGMENT_LAYERS), seed=seed)
        transforms = {name: getattr(self, name).get_random_transformation(
            data, training=training, seed=seed) for name in self._AUGMENT_LAYERS}
        return {"transforms": transforms, "layer_idxes": chosen}

    def _apply(self, method, values, transformation):
        transforms = transformation["transforms"]
        branches = [
            (lambda v, layer=layer, t=transforms[name]: getattr(layer, method)(v, t))
            for name, layer in zip(self._AUGMENT_LAYERS, self._operations())]
        for i in range(self.num_ops):
            values = jax.lax.switch(transformation["layer_idxes"][i], branches, values)
        return values

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        return self._apply("transform_images", images, transformation).astype(
            self.compute_dtype)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        boxes = {"boxes": jnp.asarray(bounding_boxes["boxes"]),
                 "labels": jnp.asarray(bounding_boxes["labels"])}
        moved = self._apply("transform_bounding_boxes", boxes, transformation)
        return {**bounding_boxes, **moved}

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        masks = jnp.asarray(segmentation_masks)
        return self._apply("transform_segmentation_masks", masks, transformation).astype(
            masks.dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


@keras_export("keras.layers.AugMix")
class AugMix(CompiledEagerCalls, BaseImagePreprocessingLayer):
    """AugMix (Hendrycks et al., 2020): during training, runs `num_chains` chains of up to
    `chain_depth` random operations on each batch, mixes the chains with Dirichlet(`alpha`)
    weights, and blends the mix with the original images with a Beta(`alpha`, `alpha`)
    weight.

    Each chain step picks one of the operations (or none) at random; `all_ops=False` leaves
    out brightness, colour degeneration, contrast and sharpness. Keras 3 picks the operations
    with Python's `random` once per trace; lamina picks them on the device from the seed, so
    every training step draws new ones and a seeded layer repeats its sequence. Segmentation
    masks go through the same chains and mix (as in Keras); bounding boxes pass unchanged.

    Args:
        value_range: the images' `(min, max)`.
        num_chains: the number of chains mixed.
        chain_depth: the number of steps per chain.
        factor: the strength of every operation, a number or pair in `[0, 1]`.
        alpha: the Dirichlet and Beta parameter.
        all_ops: whether to include the colour operations.
        interpolation: `"bilinear"` or `"nearest"`, for the geometric operations.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = AugMix(value_range=(0, 1), num_chains=2, chain_depth=2, seed=0)
        >>> out = layer(np.random.rand(2, 8, 8, 3))
        >>> out.shape, bool(((out >= 0) & (out <= 1)).all())
        ((2, 8, 8, 3), True)
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _ALL_OPS = [
        "random_shear", "random_translation", "random_rotation", "random_posterization",
        "solarization", "auto_contrast", "equalization", "random_brightness",
        "random_color_degeneration", "random_contrast", "random_sharpness",
    ]

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range, sort=False)
        _check_count(self, num_chains, "num_chains")
        _check_count(self, chain_depth, "chain_depth")
        self.num_chains = num_chains
        self.chain_depth = chain_depth
        self._set_factor(factor)
        if not _is_number(alpha) or alpha <= 0:
            raise ValueError(
                f"{self._describe()}: `alpha` should be a positive number. Received: "
                f"alpha={alpha!r}")
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self._augment_layers = self._ALL_OPS if all_ops else self._ALL_OPS[:7]
        _build_operations(self, self._augment_layers, value_range, interpolation, seed,
                          data_format, kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        seed = seed or self.generator
        gamma = random.gamma((self.num_chains,), self.alpha, seed=seed)
        chain_weights = gamma / jnp.sum(gamma, axis=-1, keepdims=True)
        weight = random.beta((), self.alpha, self.alpha, seed=seed)
        steps = self.num_chains * self.chain_depth
        # Index len(ops) is "no operation" (as Keras's choice among the ops and None).
        choices = random.randint((steps,), 0, len(self._augment_layers) + 1, seed=seed)
        keys = jnp.stack([seed.next() if isinstance(seed, SeedGenerator)
                          else jax.random.fold_in(draw_seed(seed), i)
                          for i in range(steps)]) if steps else None
        return {"chain_mixing_weights": chain_weights, "weight_sample": weight,
                "choices": choices, "keys": keys}

    def _chain_step(self, method, values, images, choice, key):
        """Runs the chosen operation's `method` on `values`, its parameters drawn from `key`
        on `images` (so images and masks get the same draws)."""
        def branch(layer):
            def run(v):
                transformation = layer.get_random_transformation(images, seed=_KeySeeds(key))
                return getattr(layer, method)(v, transformation)
            return run

        branches = [branch(getattr(self, name)) for name in self._augment_layers]
        return jax.lax.switch(choice, branches + [lambda v: v], values)

    def _mix(self, method, values, images, transformation, dtype):
        weights = transformation["chain_mixing_weights"].astype(dtype)
        weight = transformation["weight_sample"].astype(dtype)
        mixed = jnp.zeros_like(values, dtype)
        for chain in range(self.num_chains):
            chained = values
            for depth in range(self.chain_depth):
                step = chain * self.chain_depth + depth
                chained = self._chain_step(method, chained, images,
                                           transformation["choices"][step],
                                           transformation["keys"][step])
            mixed = mixed + chained.astype(dtype) * weights[chain]
        return weight * values.astype(dtype) + (1 - weight) * mixed

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        mixed = self._mix("transform_images", images, images, transformation,
                          self.compute_dtype)
        return jnp.clip(mixed, self.value_range[0], self.value_range[1]).astype(
            self.compute_dtype)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        masks = jnp.asarray(segmentation_masks)
        # The draws are made on a stand-in for the images: only their shape matters.
        shape = list(masks.shape)
        shape[-1 if self.data_format == "channels_last" else -3] = 3
        return self._mix("transform_segmentation_masks", masks,
                         jnp.zeros(shape, self.compute_dtype), transformation,
                         self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_chains": self.num_chains, "chain_depth": self.chain_depth,
                "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}
