"""`rearrange`: einops-style axis reordering, splitting and merging, as reshape + transpose."""

import re

import jax.numpy as jnp

from lamina.ops._convert import tensor as _tensor
from lamina.ops._symbolic import symbolic_op

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\(([^()]*)\)|(\w+)|(\S)")


def _parse(side, pattern):
    """`"b (h w) c"` -> `[["b"], ["h", "w"], ["c"]]`."""
    groups = []
    for match in _TOKEN.finditer(side):
        group, name, other = match.groups()
        if other is not None:
            raise ValueError(
                f"ops.rearrange cannot read {other!r} in pattern {pattern!r}. Use axis names, "
                "parentheses for merged axes and one '->'; '...' is not supported.")
        groups.append(group.split() if group is not None else [name])
    return groups


@symbolic_op
def rearrange(tensor, pattern, **axes_lengths):
    """Reorders, merges and splits axes as described by an einops pattern.

    Examples:
        >>> ops.rearrange(ops.zeros((2, 3, 4)), "b h w -> b (w h)").shape
        (2, 12)
        >>> ops.rearrange(ops.zeros((6, 4)), "(a b) c -> a b c", a=2).shape
        (2, 3, 4)
    """
    x = _tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(
            f"ops.rearrange needs a pattern 'input axes -> output axes'. Received: {pattern!r}")
    left, right = (_parse(side, pattern) for side in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(
            f"ops.rearrange: the pattern {pattern!r} names {len(left)} input axes, but the "
            f"tensor has shape {x.shape}.")
    left_names = [name for group in left for name in group]
    right_names = [name for group in right for name in group]
    if sorted(left_names) != sorted(right_names) or len(set(left_names)) != len(left_names):
        raise ValueError(
            f"ops.rearrange: each axis name must appear once on each side of {pattern!r}. "
            f"Received: {left_names} -> {right_names}.")
    sizes = dict(axes_lengths)
    for group, size in zip(left, x.shape):
        unknown = [name for name in group if name not in sizes]
        known = 1
        for name in group:
            if name in sizes:
                known *= sizes[name]
        if len(unknown) > 1:
            raise ValueError(
                f"ops.rearrange cannot infer both of {unknown} in ({' '.join(group)}); give "
                f"all but one as keyword arguments, e.g. {unknown[0]}=...")
        if unknown:
            if known == 0 or size % known:
                raise ValueError(
                    f"ops.rearrange: axis of size {size} cannot be split into "
                    f"({' '.join(group)}) with {axes_lengths}.")
            sizes[unknown[0]] = size // known
        elif known != size:
            raise ValueError(
                f"ops.rearrange: ({' '.join(group)}) = {known} does not match the axis size "
                f"{size}.")
    x = jnp.reshape(x, [sizes[name] for name in left_names])
    x = jnp.transpose(x, [left_names.index(name) for name in right_names])
    output_shape = []
    for group in right:
        size = 1
        for name in group:
            size *= sizes[name]
        output_shape.append(size)
    return jnp.reshape(x, output_shape)
