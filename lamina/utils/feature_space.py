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

Saving follows Keras 3.15's file exactly, so `.keras` files move both ways: FeatureSpace is a
Layer whose config holds one `Feature` config per feature (its dtype, output mode and
preprocessor's config) and one `Cross` config per cross, both under Keras's source names
(`keras.src.layers.preprocessing.feature_space.Feature`); the learned state lives where the
preprocessors keep it (Normalization's statistics in the weights at
`preprocessors/normalization/vars`, vocabularies in `assets/preprocessors/<layer>/`,
Discretization's boundaries in its config). The safe loader admits these names and no other
`keras.utils` name (`lamina/_serialization.py`, docs/safe-loading.md).
"""

import warnings

import numpy as np

from lamina import layers
from lamina._registry import keras_export
from lamina._runtime.naming import unique_name
from lamina._serialization import (DeserializationError, deserialize_keras_object,
                                   serialize_keras_object)
from lamina.layers.preprocessing.host import to_device_output
from lamina.saving import archive

_FEATURE_MODES = ("int", "one_hot", "float")
_CROSS_MODES = ("int", "one_hot")
_SPACE_MODES = ("dict", "concat")
_FEATURE_TYPES = ("float", "float_discretized", "float_normalized", "float_rescaled",
                  "integer_categorical", "integer_hashed", "string_categorical",
                  "string_hashed")
# Keras's source module, which it writes as the `module` of these helpers' configs.
_KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"


@keras_export(f"{_KERAS_MODULE}.Cross")
class Cross:
    """A crossing of categorical features, hashed into `crossing_dim` bins (made by
    `FeatureSpace.cross`; saved as Keras's `Cross` config)."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in _CROSS_MODES:
            raise ValueError(
                "Invalid value for argument output_mode of a FeatureSpace cross. Expected one "
                f"of {_CROSS_MODES}. Received: output_mode={output_mode!r}")
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


@keras_export(f"{_KERAS_MODULE}.Feature")
class Feature:
    """One feature: its input dtype, its preprocessing layer and how its output is encoded
    (`"int"`, `"one_hot"` or `"float"`); made by the `FeatureSpace` class methods and saved
    as Keras's `Feature` config (the preprocessor as its own layer config)."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in _FEATURE_MODES:
            raise ValueError(
                "Invalid value for argument output_mode of a FeatureSpace feature. Expected "
                f"one of {_FEATURE_MODES}. Received: output_mode={output_mode!r}")
        if isinstance(preprocessor, dict):
            preprocessor = deserialize_keras_object(preprocessor)
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# Keras's class name for the identity preprocessor of plain float features: a file names it.
@keras_export(f"{_KERAS_MODULE}.TFDIdentity")
class TFDIdentity(layers.Layer):
    """The preprocessor of plain float features (returns its input)."""

    def call(self, inputs):
        return inputs

    def get_config(self):
        base = super().get_config()
        return {key: base[key] for key in ("name", "dtype", "trainable")}


def _has_learned_state(layer):
    """Whether an adaptable preprocessor holds what `adapt` learns (after a load: whether the
    file held it). A layer lamina does not know is trusted, as Keras trusts every layer."""
    if isinstance(layer, layers.Normalization):
        return layer.input_mean is not None or layer.built
    if isinstance(layer, layers.Discretization):
        return layer.bin_boundaries is not None
    if hasattr(layer, "get_vocabulary"):
        return bool(layer.get_vocabulary(include_special_tokens=False))
    return True


@keras_export("keras.utils.FeatureSpace")
class FeatureSpace(layers.Layer):
    """Preprocesses a dict of feature columns in one object that adapts, encodes and saves.

    `features`: `{name: feature}`, a feature being a name (`"float"`, `"float_rescaled"`,
    `"float_normalized"`, `"float_discretized"`, `"integer_categorical"`,
    `"string_categorical"`, `"integer_hashed"`, `"string_hashed"`) or the result of a class
    method of the same name (with arguments). `crosses`: tuples of feature names (or
    `FeatureSpace.cross(...)`) hashed into `crossing_dim` bins. `output_mode`: `"concat"` (one
    float array, features in sorted name order, then crosses) or `"dict"`.

    `save("x.keras")` writes Keras 3's file (the features' configs, Normalization statistics,
    vocabularies as assets, Discretization boundaries); `keras.saving.load_model("x.keras")`
    returns the adapted space, and the file loads in Keras 3 too. A space saved before `adapt`
    loads unadapted (Keras marks it adapted and encodes with empty statistics).

    Examples:
        >>> space = FeatureSpace(features={"color": "string_categorical",
        ...                                "price": "float_normalized"})
        >>> space.adapt({"color": np.array(["red", "blue", "red"]),
        ...              "price": np.array([1.0, 2.0, 3.0])})
        >>> np.round(space({"color": np.array(["red"]), "price": np.array([2.0])}), 3).tolist()
        [[0.0, 1.0, 0.0, 0.0]]
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "space.keras")
        >>> space.save(path)
        >>> loaded = lamina.saving.load_model(path)
        >>> loaded.preprocessors["color"].get_vocabulary()
        ['[UNK]', 'red', 'blue']
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
        name = name or unique_name("float")
        return Feature("float32", TFDIdentity(dtype="float32", name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        """A float feature computed as `x * scale + offset`."""
        name = name or unique_name("float_rescaled")
        return Feature("float32", layers.Rescaling(scale=scale, offset=offset,
                                                   name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        """A float feature standardized with the mean and variance learned by `adapt`."""
        name = name or unique_name("float_normalized")
        return Feature("float32", layers.Normalization(axis=-1, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot",
                          name=None):
        """A float feature bucketed into `num_bins` quantile bins learned by `adapt`."""
        name = name or unique_name("float_discretized")
        return Feature("float32", layers.Discretization(
            num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor"),
            output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                            name=None):
        """Integer categories, indexed through a vocabulary learned by `adapt`."""
        name = name or unique_name("integer_categorical")
        return Feature("int32", layers.IntegerLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                           name=None):
        """String categories, indexed through a vocabulary learned by `adapt`."""
        name = name or unique_name("string_categorical")
        return Feature("string", layers.StringLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """String categories hashed into `num_bins` bins."""
        name = name or unique_name("string_hashed")
        return Feature("string", layers.Hashing(name=f"{name}_preprocessor",
                                                num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Integer categories hashed into `num_bins` bins."""
        name = name or unique_name("integer_hashed")
        return Feature("int32", layers.Hashing(name=f"{name}_preprocessor",
                                               num_bins=num_bins), output_mode)

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32,
                 hashing_dim=32, num_discretization_bins=32, name=None):
        super().__init__(name=name)
        if not features:
            raise ValueError("FeatureSpace: the features argument cannot be None or empty. "
                             "Pass {name: feature type}, e.g. {'age': 'float_normalized'}.")
        if output_mode not in _SPACE_MODES:
            raise ValueError(
                "FeatureSpace: invalid value for argument output_mode. Expected one of "
                f"{_SPACE_MODES}. Received: output_mode={output_mode!r}")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode = output_mode
        self.features = {key: self._standardize_feature(key, value)
                         for key, value in features.items()}
        self.crosses = []
        for cross in crosses or ():
            if isinstance(cross, dict):
                cross = deserialize_keras_object(cross)
            if not isinstance(cross, Cross):
                unknown = [key for key in cross if key not in self.features]
                if unknown:
                    raise ValueError(
                        "FeatureSpace: every feature named in crosses must be in features. "
                        f"Received unknown features {unknown} in the cross {tuple(cross)}; "
                        f"the features are {sorted(self.features)}.")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        # The attribute names are Keras's: they give the paths of the preprocessors' state in
        # a .keras file (`preprocessors/normalization`, `one_hot_encoders/category_encoding`).
        self.preprocessors = {key: f.preprocessor for key, f in self.features.items()}
        self.crossers = {c.name: layers.HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self.one_hot_encoders = {}
        self.concat = None
        self._sublayers_built = False
        # True after adapt (or with nothing to adapt); None when loaded from a file, where the
        # preprocessors' state decides at the first use (their state loads after the config).
        self._is_adapted = not self._adaptable()
        self._inputs = None
        self._encoded = None

    def _standardize_feature(self, key, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return deserialize_keras_object(feature)
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
        if not isinstance(feature, str) or feature not in makers:
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
                if isinstance(layer, layers.Normalization) and not layer.built:
                    # Built for any batch size, as Keras builds it from its tf.data spec (the
                    # shape lands in the saved build config).
                    layer.build_from_config({"input_shape": (None, *batches[0].shape[1:])})
                layer.adapt(np.concatenate(batches, axis=0))
        self._is_adapted = True
        self._build_encoders()

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
                if key in self.one_hot_encoders:
                    value = self.one_hot_encoders[key](value)
                encoded[key] = value
            if self.output_mode == "concat":
                values = list(encoded.values())
                encoded = self.concat(values) if len(values) > 1 else values[0]
            self._encoded = encoded
        return self._encoded

    def _adapted(self):
        if self._is_adapted is None:  # loaded: the file held the learned state, or not
            self._is_adapted = all(_has_learned_state(self.preprocessors[key])
                                   for key in self._adaptable())
        return self._is_adapted

    def _check_adapted(self):
        if not self._adapted():
            raise ValueError(
                f"You need to call `.adapt(dataset)` on the FeatureSpace '{self.name}' before "
                "you can start using it (a space saved before adapt() loads unadapted).")
        if not self._sublayers_built:
            self._build_encoders()

    def _build_encoders(self):
        """The one-hot encoders (in Keras's order, which gives their paths in a file) and the
        concatenation, sized by what the preprocessors learned. Preprocessors not built yet
        are built for `get_inputs()`'s shape, as Keras builds them (their build configs are
        saved)."""
        for layer in self.preprocessors.values():
            if isinstance(layer, layers.Layer) and not layer.built:
                layer.build_from_config({"input_shape": (None, 1)})
        specs = {**{key: self.features[key] for key in sorted(self.features)},
                 **{c.name: c for c in sorted(self.crosses, key=lambda c: c.name)}}
        encoders = {}
        for key, spec in specs.items():
            if spec.output_mode == "one_hot":
                layer = self.preprocessors.get(key) or self.crossers[key]
                encoders[key] = layers.CategoryEncoding(
                    num_tokens=self._cardinality(key, layer), output_mode="multi_hot")
        self.one_hot_encoders = encoders
        self.concat = layers.Concatenate(axis=-1) if self.output_mode == "concat" else None
        self._encoded = None
        self._sublayers_built = True
        self.built = True

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
        self._check_adapted()
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
        for key, value in list(outputs.items()) + sorted(crossed.items()):
            encoder = self.one_hot_encoders.get(key)
            if encoder is not None:
                if value.dtype.kind not in "iu":
                    raise ValueError(
                        f"FeatureSpace: feature '{key}' has output_mode='one_hot', so its "
                        "preprocessor must return integers; it returns "
                        f"{value.dtype}.")
                # multi_hot over the feature's columns, on the host (CategoryEncoding's math).
                value = (value[..., None] == np.arange(encoder.num_tokens)).max(
                    axis=1).astype("float32")
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

    # ----------------------------------------------------------------------------- saving
    def save(self, filepath):
        """Saves the space to a `.keras` file (Keras 3's layout: the config of every feature
        and cross, the preprocessors' statistics, vocabularies and boundaries), which
        `keras.saving.load_model(filepath)` reads back, in lamina or in Keras 3. A space
        saved before `adapt` is written with a warning and loads unadapted."""
        if not self._adapted():
            warnings.warn(
                f"Saving the FeatureSpace '{self.name}' before adapt(): the file holds its "
                "features but nothing learned, so the loaded space must be adapted before "
                "use. Call space.adapt(data) before save() to keep what it learns.",
                UserWarning, stacklevel=2)
        archive.save_model(self, filepath)

    def get_config(self):
        return {
            "features": {key: serialize_keras_object(f) for key, f in self.features.items()},
            "output_mode": self.output_mode,
            "crosses": [serialize_keras_object(c) for c in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        _check_space_config(config)
        try:
            space = cls(**config)
        except DeserializationError:
            raise
        except ValueError as error:
            raise DeserializationError(
                f"Cannot create a FeatureSpace from this config: {error} The file's "
                "FeatureSpace config is damaged or was edited; re-save the space.") from error
        for key, feature in space.features.items():
            if not isinstance(feature.preprocessor, layers.Layer):
                raise DeserializationError(
                    f"FeatureSpace config['features'][{key!r}]['config']['preprocessor'] must "
                    "describe a preprocessing layer. Received a config that builds a "
                    f"{type(feature.preprocessor).__name__}. The file's FeatureSpace config is "
                    "damaged or was edited; re-save the space.")
        space._is_adapted = None  # decided by the state loaded after the config
        return space

    def get_build_config(self):
        return {key: f.preprocessor.get_build_config() for key, f in self.features.items()}

    def build_from_config(self, config):
        unknown = sorted(set(config) - set(self.features))
        if unknown:
            raise DeserializationError(
                f"The build_config of FeatureSpace '{self.name}' names the features {unknown}, "
                f"which its config does not define (it defines {sorted(self.features)}). The "
                "file is damaged or was edited; re-save the space.")
        for key, section in config.items():
            if section is not None and not isinstance(section, dict):
                raise DeserializationError(
                    f"build_config[{key!r}] of FeatureSpace '{self.name}' must be a dict of "
                    f"the preprocessor's build arguments (or null). Received: {section!r}. The "
                    "file is damaged or was edited; re-save the space.")
            layer = self.preprocessors[key]
            if section and not layer.built:
                layer.build_from_config(section)
        self._is_adapted = None


def _check_space_config(config):
    """Refuses a FeatureSpace config that is not shaped as Keras and lamina write it, naming
    the key (the config may come from a file)."""

    def refuse(where, expected, received):
        raise DeserializationError(
            f"FeatureSpace config{where}: expected {expected}. Received: {received!r}. The "
            "file's FeatureSpace config is damaged or was edited; re-save the space.")

    features = config.get("features")
    if not isinstance(features, dict) or not features:
        refuse("['features']", "a non-empty dict of {feature name: Feature config}", features)
    for key, feature in features.items():
        where = f"['features'][{key!r}]"
        if isinstance(feature, str):
            if feature not in _FEATURE_TYPES:
                refuse(where, f"a Feature config or one of {list(_FEATURE_TYPES)}", feature)
            continue
        if not isinstance(feature, dict) or feature.get("class_name") != "Feature" or \
                not isinstance(feature.get("config"), dict):
            refuse(where, "a Feature config ({'class_name': 'Feature', 'config': {...}})",
                   feature)
        inner = feature["config"]
        for name, ok, expected in (
                ("dtype", isinstance(inner.get("dtype"), str), "a dtype name"),
                ("preprocessor", isinstance(inner.get("preprocessor"), dict)
                 and "class_name" in inner["preprocessor"], "a layer config"),
                ("output_mode", inner.get("output_mode") in _FEATURE_MODES,
                 f"one of {list(_FEATURE_MODES)}")):
            if not ok:
                refuse(f"{where}['config'][{name!r}]", expected, inner.get(name))
    crosses = config.get("crosses") or []
    if not isinstance(crosses, list):
        refuse("['crosses']", "a list of Cross configs", crosses)
    for index, cross in enumerate(crosses):
        where = f"['crosses'][{index}]"
        if isinstance(cross, dict):
            inner = cross.get("config")
            if cross.get("class_name") != "Cross" or not isinstance(inner, dict):
                refuse(where, "a Cross config ({'class_name': 'Cross', 'config': {...}})", cross)
            names = inner.get("feature_names")
            if inner.get("output_mode", "one_hot") not in _CROSS_MODES:
                refuse(f"{where}['config']['output_mode']", f"one of {list(_CROSS_MODES)}",
                       inner.get("output_mode"))
            dim = inner.get("crossing_dim")
            if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
                refuse(f"{where}['config']['crossing_dim']", "a positive int", dim)
        else:
            names = cross
        if not isinstance(names, list) or not names or any(n not in features for n in names):
            refuse(f"{where}['config']['feature_names']" if isinstance(cross, dict) else where,
                   f"a list of feature names among {sorted(features)}", names)
    if config.get("output_mode", "concat") not in _SPACE_MODES:
        refuse("['output_mode']", f"one of {list(_SPACE_MODES)}", config.get("output_mode"))
    for key in ("crossing_dim", "hashing_dim", "num_discretization_bins"):
        value = config.get(key, 32)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            refuse(f"[{key!r}]", "a positive int", value)
