"""The CPU formulations of convolution and max pooling (`lamina.layers._conv_kernels`).

Every value and derivative is compared with plain `lax.conv_general_dilated` /
`lax.reduce_window` (JAX's own derivatives as the reference), and the compiled training-style
loop is checked for what the formulation exists for: no non-canonical convolution and no
`select_and_scatter` inside a `lax.scan`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lamina.layers import _conv_kernels as kernels

# (input shape, kernel size, strides, padding, dilation, channels_first, groups, filters)
CONV_CASES = [
    ((2, 9, 9, 4), (3, 3), (1, 1), "VALID", (1, 1), False, 1, 6),
    ((2, 9, 8, 4), (3, 3), (2, 2), "SAME", (1, 1), False, 1, 6),
    ((2, 9, 8, 4), (3, 2), (1, 1), "SAME", (2, 1), False, 2, 6),
    ((2, 4, 9, 8), (3, 3), (1, 2), "SAME", (1, 1), True, 1, 5),
    ((2, 4, 9, 8), (3, 3), (1, 1), "VALID", (1, 1), True, 2, 6),
    ((2, 7, 3), (3,), (1,), ((4, 0),), (2,), False, 1, 5),  # causal
    ((2, 4, 7), (4,), (2,), "SAME", (1,), True, 2, 4),
    ((1, 5, 6, 7, 2), (2, 2, 2), (1, 2, 2), "SAME", (1, 1, 1), False, 1, 3),
    ((1, 2, 5, 6, 7), (2, 2, 2), (1, 1, 1), "VALID", (1, 1, 1), True, 1, 3),
    ((2, 6, 6, 3), (1, 1), (1, 1), "VALID", (1, 1), False, 1, 4),  # pointwise
    ((2, 6, 6, 4), (3, 3), (1, 1), "SAME", (1, 1), False, 4, 8),  # depthwise, multiplier 2
]


def _random(shape, seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _conv_pair(case):
    shape, size, strides, padding, dilation, channels_first, groups, filters = case
    rank = len(size)
    spatial = "DHW"[3 - rank:]
    layout = f"NC{spatial}" if channels_first else f"N{spatial}C"

    def reference(x, w):
        return lax.conv_general_dilated(
            x, w, strides, padding, rhs_dilation=dilation,
            dimension_numbers=(layout, spatial + "IO", layout), feature_group_count=groups)

    def ours(x, w):
        return kernels.conv(x, w, strides, padding, dilation, channels_first, groups)

    channels = shape[1] if channels_first else shape[-1]
    x, w = _random(shape, 0), _random(size + (channels // groups, filters), 1)
    return reference, ours, x, w


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * float(jnp.max(jnp.abs(a))))


# Patches kept from the forward pass (small layers), or rebuilt tap by tap in the backward
# pass (large layers; forced here by a zero budget).
FORMULATIONS = {"kept patches": None, "rebuilt patches": 0}


@pytest.fixture(params=list(FORMULATIONS))
def formulation(request, monkeypatch):
    if FORMULATIONS[request.param] is not None:
        monkeypatch.setattr(kernels, "KEEP_PATCH_BYTES", FORMULATIONS[request.param])
    return request.param


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_values_and_derivatives_match_lax(case, formulation):
    reference, ours, x, w = _conv_pair(case)
    y = reference(x, w)
    assert (ours(x, w) == y).all()  # a plain call is the lax convolution itself
    cotangent = _random(y.shape, 2)
    tangents = (_random(x.shape, 3), _random(w.shape, 4))

    @functools.partial(jax.jit, static_argnums=0)  # one program per side (op by op: ~1 s)
    def derivatives(conv):
        value, vjp = jax.vjp(conv, x, w)
        return value, vjp(cotangent), jax.jvp(conv, (x, w), tangents)[1]

    expected, got = derivatives(reference), derivatives(ours)
    for e, g in zip(jax.tree.leaves(expected), jax.tree.leaves(got)):
        _close(e, g)


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[1], CONV_CASES[4]])
def test_conv_second_derivatives_match_lax(case, formulation):
    reference, ours, x, w = _conv_pair(case)

    def penalty(conv):  # a gradient penalty, as in WGAN-GP: reverse over reverse
        return jax.grad(lambda w: jnp.sum(jax.grad(
            lambda x: jnp.sum(jnp.tanh(conv(x, w))))(x) ** 2))(w)

    def hvp(conv):  # forward over reverse
        return jax.jvp(jax.grad(lambda w: jnp.sum(jnp.tanh(conv(x, w)))), (w,), (w,))[1]

    for derivative in (penalty, hvp):  # each compiled as one program
        derivative = jax.jit(derivative, static_argnums=0)
        _close(derivative(reference), derivative(ours), tol=1e-4)


def test_large_patches_fall_back_to_the_plain_convolution(monkeypatch):
    reference, ours, x, w = _conv_pair(CONV_CASES[0])
    monkeypatch.setattr(kernels, "MAX_PATCH_BYTES", 0)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda w: jnp.sum(ours(x, w))))(w))
    assert "custom_jvp" not in jaxpr and "dot_general" not in jaxpr


def _scan_of_gradients(loss, *args):
    """A compiled `lax.scan` of 3 gradient steps, like the body of `fit`; its optimized HLO."""
    def run(*args):
        def body(params, _):
            grads = jax.grad(loss, argnums=tuple(range(len(params))))(*params)
            return tuple(p - 1e-3 * g for p, g in zip(params, grads)), None
        return lax.scan(body, args, None, 3)[0]
    return jax.jit(run).lower(*args).compile().as_text()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU formulation")
def test_inside_a_loop_every_convolution_is_canonical(formulation):
    _, ours, x, w = _conv_pair(CONV_CASES[0])
    hlo = _scan_of_gradients(lambda x, w: jnp.sum(jnp.tanh(ours(x, w))), x, w)
    convolutions = [line for line in hlo.splitlines() if " convolution(" in line]
    assert convolutions, "expected the input gradient as a convolution"
    # XLA's CPU kernels take (batch, *spatial, in) x (*spatial, in, out); anything else is
    # emitted as element loops inside a while body.
    assert all("dim_labels=b01f_01io->b01f" in line for line in convolutions), convolutions


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU formulation")
def test_reverse_mode_keeps_no_large_patches(monkeypatch):
    # The kernel gradient's im2col patches are 9x a 3x3 convolution's input; kept from the
    # forward pass for every layer they made the ResNet benchmark's step 860 MB of
    # temporaries. Past the budget, reverse mode keeps the (padded) input only.
    monkeypatch.setattr(kernels, "KEEP_PATCH_BYTES", 0)
    _, ours, x, w = _conv_pair(CONV_CASES[0])
    _, backward = jax.vjp(ours, x, w)
    largest = max(leaf.size for leaf in jax.tree_util.tree_leaves(backward))
    assert largest <= 2 * x.size, [leaf.shape for leaf in jax.tree_util.tree_leaves(backward)]


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU formulation")
def test_a_compiled_gradient_never_holds_every_layers_large_patches(monkeypatch):
    monkeypatch.setattr(kernels, "KEEP_PATCH_BYTES", 0)
    x, layers = _random((16, 16, 16, 8), 0), 4
    ws = [_random((3, 3, 8, 8), i) * 0.1 for i in range(layers)]

    def loss(ws, x):
        for w in ws:
            x = jnp.tanh(kernels.conv(x, w, (1, 1), "SAME", (1, 1), False))
        return jnp.sum(x)

    compiled = jax.jit(jax.grad(loss)).lower(ws, x).compile()
    patches_of_all_layers = layers * 9 * x.size * x.dtype.itemsize
    assert compiled.memory_analysis().temp_size_in_bytes < patches_of_all_layers / 2


# ----------------------------------------------------------------------------- max pooling
POOL_CASES = [
    ((2, 7, 9, 3), (2, 2), "VALID", False),
    ((2, 7, 9, 3), (2, 2), "SAME", False),
    ((2, 3, 8, 7), (3, 2), "SAME", True),
    ((2, 9, 3), (3,), "VALID", False),
    ((1, 4, 5, 6, 2), (2, 2, 2), "SAME", False),
]


def _pool_pair(case):
    shape, size, padding, channels_first = case
    window = (1, 1, *size) if channels_first else (1, *size, 1)

    def reference(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, window, window, padding)

    def ours(x):
        return kernels.max_pool(x, size, size, padding, channels_first)

    return reference, ours


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_values_and_gradients_equal_reduce_window_even_with_ties(case):
    reference, ours = _pool_pair(case)
    x = jnp.round(_random(case[0], 0) * 2)  # small integers: many windows with tied maxima
    y = reference(x)
    assert (ours(x) == y).all()
    cotangent = _random(y.shape, 1)
    expected = jax.vjp(reference, x)[1](cotangent)[0]
    got = jax.jit(lambda x, c: jax.vjp(ours, x)[1](c)[0])(x, cotangent)
    assert (expected == got).all()  # the first maximum of each window gets the gradient
    x, tangent = _random(case[0], 2), _random(case[0], 3)  # no ties: a unique JVP
    _close(jax.jvp(reference, (x,), (tangent,))[1], jax.jvp(ours, (x,), (tangent,))[1])


def test_overlapping_windows_use_reduce_window():
    x = _random((1, 6, 6, 2), 0)
    jaxpr = str(jax.make_jaxpr(lambda x: kernels.max_pool(x, (3, 3), (2, 2), "VALID", False))(x))
    assert "reduce_window_max" in jaxpr


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU formulation")
def test_max_pool_gradient_has_no_select_and_scatter():
    _, ours = _pool_pair(POOL_CASES[0])
    x = _random(POOL_CASES[0][0], 0)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda x: jnp.sum(ours(x) ** 2)))(x))
    assert "select_and_scatter" not in jaxpr and "reduce_window" not in jaxpr
