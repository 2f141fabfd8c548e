"""`keras.utils.FeatureSpace`: structured data (a dict of columns) preprocessed in one object.

Each feature is a preprocessing layer (Normalization, Rescaling, Discretization,
StringLookup, IntegerLookup, Hashing, or the identity) chosen by name or by a `FeatureSpace`
class method, with Keras 3's names and defaults; `crosses` hash pairs of features with
HashedCrossing; `"one_hot"` features are encoded with CategoryEncoding. `adapt(data)` learns
every adaptable preprocessor from the same data (read once, in full, before any layer
changes: a failed read leaves the space as it was); calling the space on a dict of columns
gives the features in Keras's order (sorted feature names, then sorted cross names),
concatenated (`output_mode="concat"`) or as a dict.

Keras builds its FeatureSpace on `tf.data`; lamina computes on the host with the layers'
NumPy paths (strings never reach JAX) and returns JAX arrays, as Keras on JAX does.
"""

import numpy as np

from lamina import layers
from lamina._registry import keras_export
from lamina.layers.preprocessing.host import to_device_output

_FEATURE_MODES = ("int", "one_hot", "float")


class Cross:
    """A crossing of categorical features, hashed into `crossing_dim` bins (made by
    `FeatureSpace.cross`)."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(
                "Invalid value for argument output_mode of a FeatureSpace cross. Expected one "
                f"of ('int', 'one_hot'). Received: output_mode={output_mode!r}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """One feature: its input dtype, its preprocessing layer and how its output is encoded
    (`"int"`, `"one_hot"` or `"float"`); made by the `FeatureSpace` class methods."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in _FEATURE_MODES:
            raise ValueError(
                "Invalid value for argument output_mode of a FeatureSpace feature. Expected "
                f"one of {_FEATURE_MODES}. Received: output_mode={output_mode!r}")
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.output_mode = output_mode


class _Identity(layers.Layer):
    """The preprocessor of plain float features."""

    def call(self, inputs):
        return inputs


_counts = {}


def _auto_name(prefix):
    _counts[prefix] = _counts.get(prefix, 0) + 1
    count = _counts[prefix] - 1
    return prefix if count == 0 else f"{prefix}_{count}"


@keras_export("keras.utils.FeatureSpace")
class FeatureSpace:
    """Preprocesses a dict of feature columns in one object that adapts, then encodes.

    `features`: `{name: feature}`, a feature being a name (`"float"`, `"float_rescaled"`,
    `"float_normalized"`, `"float_discretized"`, `"integer_categorical"`,
    `"string_categorical"`, `"integer_hashed"`, `"string_hashed"`) or the result of a class
    method of the same name (with arguments). `crosses`: tuples of feature names (or
    `FeatureSpace.cross(...)`) hashed into `crossing_dim` bins. `output_mode`: `"concat"` (one
    float array, features in sorted name order, then crosses) or `"dict"`.

    Examples:
        >>> space = FeatureSpace(features={"color": "string_categorical",
        ...                                "price": "float_normalized"})
        >>> space.adapt({"color": np.array(["red", "blue", "red"]),
        ...              "price": np.array([1.0, 2.0, 3.0])})
        >>> np.round(space({"color": np.array(["red"]), "price": np.array([2.0])}), 3).tolist()
        [[0.0, 1.0, 0.0, 0.0]]
    """

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        """A cross of the named features, hashed into `crossing_dim` bins."""
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        """A feature with your own preprocessing layer."""
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        """A float feature passed through as is."""
        name = name or _auto_name("float")
        return Feature("float32", _Identity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        """A float feature computed as `x * scale + offset`."""
        name = name or _auto_name("float_rescaled")
        return Feature("float32", layers.Rescaling(scale=scale, offset=offset,
                                                   name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        """A float feature standardized with the mean and variance learned by `adapt`."""
        name = name or _auto_name("float_normalized")
        return Feature("float32", layers.Normalization(axis=-1, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot",
                          name=None):
        """A float feature bucketed into `num_bins` quantile bins learned by `adapt`."""
        name = name or _auto_name("float_discretized")
        return Feature("float32", layers.Discretization(
            num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor"),
            output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                            name=None):
        """Integer categories, indexed through a vocabulary learned by `adapt`."""
        name = name or _auto_name("integer_categorical")
        return Feature("int32", layers.IntegerLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                           name=None):
        """String categories, indexed through a vocabulary learned by `adapt`."""
        name = name or _auto_name("string_categorical")
        return Feature("string", layers.StringLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """String categories hashed into `num_bins` bins."""
        name = name or _auto_name("string_hashed")
        return Feature("string", layers.Hashing(name=f"{name}_preprocessor",
                                                num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Integer categories hashed into `num_bins` bins."""
        name = name or _auto_name("integer_hashed")
        return Feature("int32", layers.Hashing(name=f"{name}_preprocessor",
                                               num_bins=num_bins), output_mode)

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32,
                 hashing_dim=32, num_discretization_bins=32, name=None):
        if not features:
            raise ValueError("FeatureSpace: the features argument cannot be None or empty. "
                             "Pass {name: feature type}, e.g. {'age': 'float_normalized'}.")
        if output_mode not in ("dict", "concat"):
            raise ValueError(
                "FeatureSpace: invalid value for argument output_mode. Expected one of "
                f"('dict', 'concat'). Received: output_mode={output_mode!r}")
        self.name = name or _auto_name("feature_space")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode = output_mode
        self.features = {key: self._standardize_feature(key, value)
                         for key, value in features.items()}
        self.crosses = []
        for cross in crosses or ():
            if not isinstance(cross, Cross):
                unknown = [key for key in cross if key not in self.features]
                if unknown:
                    raise ValueError(
                        "FeatureSpace: every feature named in crosses must be in features. "
                        f"Received unknown features {unknown} in the cross {tuple(cross)}; "
                        f"the features are {sorted(self.features)}.")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        self.preprocessors = {key: f.preprocessor for key, f in self.features.items()}
        self.crossers = {c.name: layers.HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self._is_adapted = not self._adaptable()
        self._inputs = None
        self._encoded = None

    def _standardize_feature(self, key, feature):
        if isinstance(feature, Feature):
            return feature
        makers = {
            "float": lambda: self.float(name=key),
            "float_normalized": lambda: self.float_normalized(name=key),
            "float_rescaled": lambda: self.float_rescaled(name=key),
            "float_discretized": lambda: self.float_discretized(
                name=key, num_bins=self.num_discretization_bins),
            "integer_categorical": lambda: self.integer_categorical(name=key),
            "string_categorical": lambda: self.string_categorical(name=key),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=key),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=key),
        }
        if feature not in makers:
            raise ValueError(
                f"FeatureSpace: invalid feature type {feature!r} for feature '{key}'. Expected "
                f"one of {sorted(makers)} or a FeatureSpace.<type>(...) feature.")
        return makers[feature]()

    def _adaptable(self):
        names = []
        for key, feature in self.features.items():
            layer = feature.preprocessor
            if isinstance(layer, layers.Normalization) and layer.input_mean is not None:
                continue
            if isinstance(layer, layers.Discretization) and layer.num_bins is None:
                continue
            if isinstance(layer, (layers.StringLookup, layers.IntegerLookup)) and \
                    layer._has_input_vocabulary:
                continue
            if hasattr(layer, "adapt"):
                names.append(key)
        return names

    # ----------------------------------------------------------------------------- adapt
    def adapt(self, dataset, verbose=1):
        """Learns every adaptable preprocessor from `dataset`: a dict of arrays or lists (one
        per feature), or an iterable of such dicts (batches). The data is read in full
        before any preprocessor changes, so a failure while reading leaves the space as it
        was."""
        names = self._adaptable()
        if isinstance(dataset, dict):
            # Keras slices a dict into rows and batches them by 32 (which Discretization's
            # batch-by-batch quantile summaries see).
            columns = {key: np.array_split(np.asarray(dataset[key]), range(
                32, len(dataset[key]), 32)) for key in names if key in dataset}
        elif hasattr(dataset, "__iter__") and not isinstance(dataset, (str, bytes)):
            columns = {key: [] for key in names}
            for index, batch in enumerate(dataset):
                if isinstance(batch, tuple):
                    batch = batch[0]
                if not isinstance(batch, dict):
                    raise ValueError(
                        f"FeatureSpace.adapt(): batch {index} is a {type(batch).__name__}; "
                        "expected a dict of feature columns.")
                for key in names:
                    if key in batch:
                        columns[key].append(np.asarray(batch[key]))
        else:
            raise ValueError(
                "FeatureSpace.adapt() takes a dict of arrays/lists or an iterable of such "
                f"dicts. Received: {type(dataset).__name__}")
        missing = [key for key in names if not columns.get(key)]
        if missing:
            raise ValueError(
                f"FeatureSpace.adapt(): the data has no column for the features {missing}. "
                f"Pass a dict with the keys {sorted(self.features)}.")
        for key in names:
            batches = [b.reshape(-1, 1) if b.ndim <= 1 else b for b in columns[key]]
            layer = self.preprocessors[key]
            if isinstance(layer, layers.Discretization):
                layer.adapt(batches)
            else:
                layer.adapt(np.concatenate(batches, axis=0))
        self._is_adapted = True

    # ----------------------------------------------------------------------------- graph
    def get_inputs(self):
        """`{name: keras.Input(shape=(1,), dtype=...)}`, one symbolic input per feature (the
        same ones at every call)."""
        self._check_adapted()
        if self._inputs is None:
            self._inputs = {key: layers.Input(shape=(1,), dtype=feature.dtype, name=key)
                            for key, feature in self.features.items()}
        return self._inputs

    def get_encoded_features(self):
        """The encoded features as symbolic tensors of `get_inputs()` (one tensor with
        `output_mode="concat"`, else a dict), to build a model that takes raw columns:
        `keras.Model(space.get_inputs(), head(space.get_encoded_features()))`. Its string
        preprocessors run on the host before the compiled step (`fit`/`predict` on a dict of
        raw columns); crosses need the preprocessed features on the host too, so a space with
        crosses is applied to the data instead (`space(data)`)."""
        self._check_adapted()
        if self.crosses:
            raise ValueError(
                "FeatureSpace.get_encoded_features(): this space has crosses, which hash the "
                "preprocessed features on the host and so cannot sit inside a compiled model. "
                "Apply the space to the data instead: model.fit(space(data), y).")
        if self._encoded is None:
            inputs = self.get_inputs()
            encoded = {}
            for key in sorted(self.features):
                value = self.preprocessors[key](inputs[key])
                if self.features[key].output_mode == "one_hot":
                    value = layers.CategoryEncoding(
                        num_tokens=self._cardinality(key, self.preprocessors[key]),
                        output_mode="multi_hot")(value)
                encoded[key] = value
            if self.output_mode == "concat":
                values = list(encoded.values())
                encoded = layers.Concatenate(axis=-1)(values) if len(values) > 1 \
                    else values[0]
            self._encoded = encoded
        return self._encoded

    def _check_adapted(self):
        if not self._is_adapted:
            raise ValueError(
                "You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                "using it.")

    # ----------------------------------------------------------------------------- call
    def _cardinality(self, key, layer):
        if isinstance(layer, (layers.IntegerLookup, layers.StringLookup)):
            return layer.vocabulary_size()
        if isinstance(layer, layers.CategoryEncoding):
            return layer.num_tokens
        if isinstance(layer, (layers.Discretization, layers.Hashing, layers.HashedCrossing)):
            return layer.num_bins
        raise ValueError(
            f"FeatureSpace: feature '{key}' has output_mode='one_hot', but its preprocessor "
            f"{type(layer).__name__} has no known number of categories, so it cannot be "
            "one-hot encoded. Use output_mode='int'.")

    def __call__(self, data):
        if not self._is_adapted:
            raise ValueError(
                "You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                "using it.")
        if not isinstance(data, dict):
            raise ValueError(
                "A FeatureSpace can only be called with a dict of feature columns. Received: "
                f"{type(data).__name__}")
        missing = [key for key in self.features if key not in data]
        if missing:
            raise ValueError(f"FeatureSpace: the data lacks the features {missing}.")
        single = False
        inputs = {}
        for key in self.features:
            value = np.asarray(data[key])
            if value.ndim == 0:
                value, single = value.reshape(1, 1), True
            elif value.ndim == 1:
                value = value[:, None]
            inputs[key] = value
        outputs = {key: np.asarray(self.preprocessors[key](inputs[key]))
                   for key in sorted(self.features)}
        crossed = {c.name: np.asarray(self.crossers[c.name](
            [outputs[key] for key in c.feature_names])) for c in self.crosses}
        merged = {}
        specs = {**{k: self.features[k] for k in outputs}, **{c.name: c for c in self.crosses}}
        for key, value in list(outputs.items()) + sorted(crossed.items()):
            spec = specs[key]
            if spec.output_mode == "one_hot":
                layer = self.preprocessors.get(key) or self.crossers[key]
                if value.dtype.kind not in "iu":
                    raise ValueError(
                        f"FeatureSpace: feature '{key}' has output_mode='one_hot', so its "
                        "preprocessor must return integers; it returns "
                        f"{value.dtype}.")
                depth = self._cardinality(key, layer)
                value = (value[..., None] == np.arange(depth)).max(axis=1).astype("float32")
            elif self.output_mode == "concat" and value.dtype.kind not in "f":
                raise ValueError(
                    f"Cannot concatenate features because feature '{key}' has not been "
                    f"encoded (it has dtype {value.dtype}). Consider using output_mode='dict'.")
            merged[key] = value
        if self.output_mode == "concat":
            result = np.concatenate([v.astype("float32") for v in merged.values()], axis=-1)
            return to_device_output(result[0] if single else result)
        return {key: to_device_output(v[0] if single else v)
                for key, v in merged.items()}
