"""`Muon`: orthogonalized momentum for 2-D weights, AdamW for the rest."""

import re

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["Muon"]


@keras_export("keras.optimizers.Muon")
class Muon(Optimizer):
    """Muon (Jordan et al., 2024; the Moonlight scaling of Liu et al., 2025).

    For each 2-D weight (except embeddings and layers matched by `exclude_layers`), the
    momentum `m = momentum * m + g` (Nesterov: `g + momentum * m`) is orthogonalized by
    `ns_steps` Newton-Schulz iterations with coefficients `(muon_a, muon_b, muon_c)`, scaled by
    `sqrt(max(rows, cols)) * rms_rate`, and subtracted times the learning rate. Every other
    variable gets an AdamW step with rate `learning_rate * adam_lr_ratio`, betas
    `adam_beta_1`, `adam_beta_2` and decay `adam_weight_decay`.

    The base optimizer's arguments (`clipnorm`, `use_ema`, ..., `name`) follow `weight_decay`,
    by keyword or positionally, as in Keras; Muon's arguments after them (from
    `exclude_layers` on) are taken by keyword only.

    Examples:
        >>> w = lamina.Variable(jnp.eye(2))
        >>> optimizer = lamina.optimizers.Muon(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.eye(2), w)])
        >>> w.shape
        (2, 2)
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, *args,
                 exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        super().__init__(learning_rate, weight_decay, *args, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        if len(variable.shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(keyword, variable.path) for keyword in self.exclude_layers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = [None] * len(var_list)
        self.adam_velocities = [None] * len(var_list)
        for index, variable in enumerate(var_list):
            if self._overwrite_variable_with_gradient(variable):
                continue
            self.momentums[index] = self.add_variable_from_reference(variable, "momentum")
            if self._should_use_adamw(variable):
                self.adam_velocities[index] = self.add_variable_from_reference(variable,
                                                                               "velocity")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        m, v = self.momentums[index], self.adam_velocities[index]
        if v is not None:
            self._adamw_update_step(gradient, variable, learning_rate * self.adam_lr_ratio, m, v)
        else:
            self._muon_update_step(gradient, variable, learning_rate, m)

    def _muon_update_step(self, gradient, variable, lr, m):
        m.assign(m.value + (gradient + m.value * (self.momentum - 1)))
        direction = gradient + self.momentum * m.value if self.nesterov else m.value
        update = self.zeropower_via_newtonschulz5(direction, self.ns_steps)
        variable.assign(variable.value - self.lr_adjust(lr * update))

    def _adamw_update_step(self, gradient, variable, learning_rate, m, v):
        dtype = variable.dtype
        lr = jnp.asarray(learning_rate).astype(dtype)
        gradient = jnp.asarray(gradient).astype(dtype)
        step = (jnp.asarray(getattr(self.iterations, "value", self.iterations)) + 1).astype(
            dtype)
        beta_1_power = jnp.power(jnp.asarray(self.adam_beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.adam_beta_2, dtype), step)
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m.assign(m.value + (gradient - m.value) * (1 - self.adam_beta_1))
        v.assign(v.value + (jnp.square(gradient) - v.value) * (1 - self.adam_beta_2))
        variable.assign(variable.value - (m.value * alpha) / (jnp.sqrt(v.value) + self.epsilon))

    def lr_adjust(self, x):
        """Scales an orthogonalized update by `sqrt(max(rows, cols)) * rms_rate`, so Muon can
        share AdamW's learning rate and weight decay (Moonlight)."""
        if self.rms_rate is None:
            return x
        return x * jnp.sqrt(jnp.maximum(x.shape[0], x.shape[1])) * self.rms_rate

    def zeropower_via_newtonschulz5(self, x, steps):
        """Approximately orthogonalizes `x` (maps it toward `U V^T` of its SVD) with `steps`
        quintic Newton-Schulz iterations."""
        if x.ndim < 2:
            raise ValueError(
                "Expected gradient or momentum to have at least 2 dimensions. "
                f"Received: shape={x.shape}")
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = jnp.swapaxes(x, -1, -2)
        x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
        for _ in range(steps):
            gram = x @ jnp.swapaxes(x, -1, -2)
            x = a * x + (b * gram + c * gram @ gram) @ x
        return jnp.swapaxes(x, -1, -2) if tall else x

    def _apply_weight_decay(self, variables):
        rate = self._learning_rate_value()
        for variable in variables:
            if not self._use_weight_decay(variable):
                continue
            decay = (self.adam_weight_decay if self._should_use_adamw(variable)
                     else self.weight_decay)
            if decay is None:
                continue
            wd = jnp.asarray(decay, variable.dtype)
            lr = rate.astype(variable.dtype)
            variable.assign(variable.value - variable.value * wd * lr)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Muon)}
