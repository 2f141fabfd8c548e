"""Discretization: numbers into bins, given boundaries or learned as quantiles by `adapt`.

The bucketing runs on the device, inside the compiled step (`jnp.digitize` against the
boundaries, a constant of the program). `adapt` runs on the host with NumPy: each batch is
reduced to a weighted summary of about `1 / epsilon` sorted points, summaries are merged as
batches arrive, and the final boundaries are the summary's `num_bins`-quantiles, the same
approximate-quantile scheme (and so the same boundaries) as Keras 3's.
"""

import jax.numpy as jnp
import numpy as np

from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor
from lamina.layers.preprocessing.adapt_data import adapt_batches
from lamina.layers.preprocessing.category_encoding import (
    check_output_mode, encode_categories, encoded_shape, refuse_sparse)


def _summarize(values, epsilon):
    """About `1 / epsilon` evenly spaced points of the sorted values, each weighted by the
    number of values it stands for: `[[points], [weights]]`."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size * epsilon, 1)
    points = values[int(step - 1)::int(step)]
    return np.stack([points, np.full_like(points, step)])


def _compress(summary, epsilon):
    """The summary re-sampled at the cumulative-weight fractions epsilon, 2 epsilon, ..., 1
    (unchanged when it is already that small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    points = np.interp(fractions, cumulative / cumulative[-1], summary[0])
    new_cumulative = np.interp(fractions, cumulative / cumulative[-1], cumulative)
    weights = np.diff(new_cumulative, prepend=0.0)
    return np.stack((points, weights)).astype("float32")


def _merge(first, second, epsilon):
    merged = np.concatenate((first, second), axis=1)
    return _compress(merged[:, np.argsort(merged[0])], epsilon)


class Discretization(Layer):
    """Buckets numbers into ranges: bin `i` holds `bin_boundaries[i-1] <= x <
    bin_boundaries[i]` (bin 0 everything below the first boundary, the last bin everything
    from the last one up).

    Give `bin_boundaries`, or `num_bins` and call `adapt(data)` to place the boundaries at
    the data's approximate quantiles (within `epsilon`). `output_mode`: `"int"` (bin ids,
    int32), or `"one_hot"`, `"multi_hot"`, `"count"` over the `len(bin_boundaries) + 1` bins.
    The bucketing runs inside the compiled step; `adapt` runs on the host.

    Examples:
        >>> layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]])).tolist()
        [[0, 2, 3, 1]]
        >>> layer = Discretization(num_bins=4, epsilon=0.01)
        >>> layer.adapt(np.arange(100.0))
        >>> [round(b, 3) for b in layer.bin_boundaries]   # approximate quantiles, as Keras's
        [24.0, 49.0, 74.0]
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        refuse_sparse(self, sparse)
        check_output_mode(self, output_mode, ("int", "one_hot", "multi_hot", "count"))
        if num_bins is not None and (isinstance(num_bins, bool) or num_bins < 0):
            raise ValueError(
                f"Discretization '{self.name}': num_bins must be an int >= 0. Received: "
                f"num_bins={num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f"Discretization '{self.name}': set either num_bins (and call adapt) or "
                f"bin_boundaries, not both. Received: num_bins={num_bins} and "
                f"bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError(
                f"Discretization '{self.name}': set either num_bins (then call adapt(data)) "
                "or bin_boundaries. Received neither.")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in np.asarray(bin_boundaries).reshape(-1)]
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries)):
                raise ValueError(
                    f"Discretization '{self.name}': bin_boundaries must be sorted in "
                    f"increasing order. Received: bin_boundaries={bin_boundaries}")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse

    @property
    def input_dtype(self):
        return "float32"

    def adapt(self, data, steps=None):
        """Sets `bin_boundaries` to the approximate `num_bins`-quantiles of `data`: an
        array, a nested list of numbers, or an iterable of batches (arrays or `(x, y)`
        pairs), reading at most `steps` batches. Nothing changes if reading the data fails.
        """
        if self.num_bins is None:
            raise ValueError(
                f"Discretization '{self.name}' was created with bin_boundaries, so adapt() "
                "has nothing to learn. Create it with num_bins=... to learn the boundaries.")
        summary = np.array([[], []], dtype="float32")
        for batch in adapt_batches(self, data, steps, numeric=True):
            batch = np.asarray(batch, dtype="float32")
            summary = _merge(_summarize(batch, self.epsilon), summary, self.epsilon)
        if not summary.shape[1]:
            raise ValueError(
                f"Discretization '{self.name}'.adapt() received no values. Pass a non-empty "
                "array or at least one non-empty batch.")
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f"Discretization '{self.name}' has no bin boundaries yet: pass "
                "bin_boundaries=... when creating it, or call adapt(data) before using it.")
        inputs = jnp.asarray(inputs)
        bins = jnp.asarray(self.bin_boundaries, dtype=inputs.dtype if jnp.issubdtype(
            inputs.dtype, jnp.floating) else "float32")
        indices = jnp.digitize(inputs, bins).astype("int32")
        dtype = "int32" if self.output_mode == "int" else self.compute_dtype
        return encode_categories(indices, self.output_mode, len(self.bin_boundaries) + 1, dtype)

    def compute_output_spec(self, inputs):
        dtype = "int32" if self.output_mode == "int" else self.compute_dtype
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=dtype)

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        return encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self):
        return {
            "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
            "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse,
            "name": self.name, "dtype": self.variable_dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # An adapted layer's config holds both: the learned boundaries win (as in Keras).
        boundaries = config.pop("bin_boundaries", None) if config.get("num_bins") is not None \
            else None
        layer = super().from_config(config)
        if boundaries is not None:
            layer.bin_boundaries = [float(b) for b in boundaries]
        return layer
