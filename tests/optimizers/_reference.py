"""Hand-written NumPy versions of Keras 3's update rules, in float32, for the optimizer tests.

Each `run_<name>(weights, grads_per_step, lr, **hyper)` applies the rule to a list of float32
arrays for every list of gradients in `grads_per_step` and returns the final weights. They
follow the formulas in Keras's docstrings and papers, written independently of lamina's code.
"""

import numpy as np

f32 = np.float32


def _zeros(weights):
    return [np.zeros_like(w) for w in weights]


def _steps(weights, grads_per_step):
    weights = [np.array(w, dtype=f32) for w in weights]
    for t, grads in enumerate(grads_per_step, start=1):
        yield t, weights, [np.asarray(g, dtype=f32) for g in grads]


def run_sgd(weights, grads_per_step, lr, momentum=0.0, nesterov=False):
    velocity = None
    for _, w, grads in _steps(weights, grads_per_step):
        velocity = velocity or _zeros(w)
        for i, g in enumerate(grads):
            if momentum:
                velocity[i] = velocity[i] * f32(momentum) - g * f32(lr)
                step = velocity[i] * f32(momentum) - g * f32(lr) if nesterov else velocity[i]
                w[i] = w[i] + step
            else:
                w[i] = w[i] - g * f32(lr)
        weights = w
    return weights


def run_adam(weights, grads_per_step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
             amsgrad=False):
    m = v = v_max = None
    for t, w, grads in _steps(weights, grads_per_step):
        m, v, v_max = m or _zeros(w), v or _zeros(w), v_max or _zeros(w)
        correction = f32(lr) * np.sqrt(f32(1) - f32(beta_2) ** f32(t)) / (
            f32(1) - f32(beta_1) ** f32(t))
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * f32(1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * f32(1 - beta_2)
            second = v[i]
            if amsgrad:
                v_max[i] = np.maximum(v_max[i], v[i])
                second = v_max[i]
            w[i] = w[i] - m[i] * correction / (np.sqrt(second) + f32(epsilon))
        weights = w
    return weights


def run_adamw(weights, grads_per_step, lr, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
              epsilon=1e-7):
    m = v = None
    for t, w, grads in _steps(weights, grads_per_step):
        m, v = m or _zeros(w), v or _zeros(w)
        correction = f32(lr) * np.sqrt(f32(1) - f32(beta_2) ** f32(t)) / (
            f32(1) - f32(beta_1) ** f32(t))
        for i, g in enumerate(grads):
            w[i] = w[i] - w[i] * f32(weight_decay) * f32(lr)  # decoupled: before the step
            m[i] = m[i] + (g - m[i]) * f32(1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * f32(1 - beta_2)
            w[i] = w[i] - m[i] * correction / (np.sqrt(v[i]) + f32(epsilon))
        weights = w
    return weights


def run_nadam(weights, grads_per_step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = v = None
    u_product = f32(1.0)
    for t, w, grads in _steps(weights, grads_per_step):
        m, v = m or _zeros(w), v or _zeros(w)
        u_t = f32(beta_1) * (f32(1) - f32(0.5) * f32(0.96) ** f32(t))
        u_next = f32(beta_1) * (f32(1) - f32(0.5) * f32(0.96) ** f32(t + 1))
        u_product = u_product * u_t
        u_product_next = u_product * u_next
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * (f32(1) - f32(beta_1))
            v[i] = v[i] + (g * g - v[i]) * (f32(1) - f32(beta_2))
            m_hat = u_next * m[i] / (f32(1) - u_product_next) + (f32(1) - u_t) * g / (
                f32(1) - u_product)
            v_hat = v[i] / (f32(1) - f32(beta_2) ** f32(t))
            w[i] = w[i] - m_hat * f32(lr) / (np.sqrt(v_hat) + f32(epsilon))
        weights = w
    return weights


def run_adamax(weights, grads_per_step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = u = None
    for t, w, grads in _steps(weights, grads_per_step):
        m, u = m or _zeros(w), u or _zeros(w)
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * f32(1 - beta_1)
            u[i] = np.maximum(f32(beta_2) * u[i], np.abs(g))
            w[i] = w[i] - f32(lr) * m[i] / (
                (f32(1) - f32(beta_1) ** f32(t)) * (u[i] + f32(epsilon)))
        weights = w
    return weights


def run_lamb(weights, grads_per_step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = v = None
    for t, w, grads in _steps(weights, grads_per_step):
        m, v = m or _zeros(w), v or _zeros(w)
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * f32(1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * f32(1 - beta_2)
            update = (m[i] / (f32(1) - f32(beta_1) ** f32(t))) / (
                np.sqrt(v[i] / (f32(1) - f32(beta_2) ** f32(t))) + f32(epsilon))
            w_norm, u_norm = np.linalg.norm(w[i]), np.linalg.norm(update)
            ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else f32(1)
            w[i] = w[i] - f32(ratio) * f32(lr) * update
        weights = w
    return weights


def run_rmsprop(weights, grads_per_step, lr, rho=0.9, momentum=0.0, epsilon=1e-7,
                centered=False):
    velocity = average = moment = None
    for _, w, grads in _steps(weights, grads_per_step):
        velocity, average, moment = velocity or _zeros(w), average or _zeros(w), moment or _zeros(w)
        for i, g in enumerate(grads):
            velocity[i] = f32(rho) * velocity[i] + f32(1 - rho) * g * g
            if centered:
                average[i] = f32(rho) * average[i] + f32(1 - rho) * g
                denominator = velocity[i] - average[i] ** 2 + f32(epsilon)
            else:
                denominator = velocity[i] + f32(epsilon)
            step = f32(lr) * g / np.sqrt(denominator)
            if momentum > 0:
                moment[i] = f32(momentum) * moment[i] + step
                step = moment[i]
            w[i] = w[i] - step
        weights = w
    return weights


def run_adagrad(weights, grads_per_step, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    accumulator = None
    for _, w, grads in _steps(weights, grads_per_step):
        accumulator = accumulator or [np.full_like(x, initial_accumulator_value) for x in w]
        for i, g in enumerate(grads):
            accumulator[i] = accumulator[i] + g * g
            w[i] = w[i] - f32(lr) * g / np.sqrt(accumulator[i] + f32(epsilon))
        weights = w
    return weights


def run_adadelta(weights, grads_per_step, lr, rho=0.95, epsilon=1e-7):
    acc_grad = acc_delta = None
    for _, w, grads in _steps(weights, grads_per_step):
        acc_grad, acc_delta = acc_grad or _zeros(w), acc_delta or _zeros(w)
        for i, g in enumerate(grads):
            acc_grad[i] = f32(rho) * acc_grad[i] + f32(1 - rho) * g * g
            delta = -np.sqrt(acc_delta[i] + f32(epsilon)) * g / np.sqrt(acc_grad[i] + f32(epsilon))
            acc_delta[i] = f32(rho) * acc_delta[i] + f32(1 - rho) * delta * delta
            w[i] = w[i] + f32(lr) * delta
        weights = w
    return weights


def run_ftrl(weights, grads_per_step, lr, learning_rate_power=-0.5,
             initial_accumulator_value=0.1, l1_regularization_strength=0.0,
             l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
             beta=0.0):
    accumulator = linear = None
    p = -learning_rate_power
    for _, w, grads in _steps(weights, grads_per_step):
        accumulator = accumulator or [np.full_like(x, initial_accumulator_value) for x in w]
        linear = linear or _zeros(w)
        for i, g in enumerate(grads):
            new_accumulator = accumulator[i] + g * g
            shrunk = g + f32(2 * l2_shrinkage_regularization_strength) * w[i]
            sigma = (new_accumulator ** f32(p) - accumulator[i] ** f32(p)) / f32(lr)
            linear[i] = linear[i] + shrunk - sigma * w[i]
            quadratic = new_accumulator ** f32(p) / f32(lr) + f32(2) * (
                f32(l2_regularization_strength) + f32(beta) / (f32(2) * f32(lr)))
            l1 = f32(l1_regularization_strength)
            w[i] = (np.clip(linear[i], -l1, l1) - linear[i]) / quadratic
            accumulator[i] = new_accumulator
        weights = w
    return weights


def run_lion(weights, grads_per_step, lr, beta_1=0.9, beta_2=0.99):
    m = None
    for _, w, grads in _steps(weights, grads_per_step):
        m = m or _zeros(w)
        for i, g in enumerate(grads):
            w[i] = w[i] - f32(lr) * np.sign(f32(beta_1) * m[i] + f32(1 - beta_1) * g)
            m[i] = f32(beta_2) * m[i] + f32(1 - beta_2) * g
        weights = w
    return weights


def _rms(x):
    return np.sqrt(np.mean(np.square(x)))


def run_adafactor(weights, grads_per_step, lr, beta_2_decay=-0.8, epsilon_1=1e-30,
                  epsilon_2=1e-3, clip_threshold=1.0):
    state = None
    for t, w, grads in _steps(weights, grads_per_step):
        if state is None:
            state = [(np.zeros(x.shape[:-1], f32), np.zeros(x.shape[:-2] + x.shape[-1:], f32),
                      np.zeros_like(x)) if x.ndim >= 2 else (None, None, np.zeros_like(x))
                     for x in w]
        step = f32(t)
        rho = min(f32(lr), f32(1) / np.sqrt(step))
        beta = f32(1) - step ** f32(beta_2_decay)
        for i, g in enumerate(grads):
            r, c, v = state[i]
            alpha = max(f32(epsilon_2), _rms(w[i])) * rho
            squared = g * g + f32(epsilon_1)
            if w[i].ndim >= 2:
                r = beta * r + (f32(1) - beta) * squared.mean(axis=-1)
                c = beta * c + (f32(1) - beta) * squared.mean(axis=-2)
                v = (r / r.mean(axis=-1, keepdims=True))[..., :, None] * c[..., None, :]
            else:
                v = beta * v + (f32(1) - beta) * squared
            state[i] = (r, c, v)
            u = g / np.sqrt(v)
            u = u / max(f32(1), _rms(u) / f32(clip_threshold))
            w[i] = w[i] - alpha * u
        weights = w
    return weights


def _orthogonalize(x, steps, a=3.4445, b=-4.7750, c=2.0315):
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / (np.linalg.norm(x) + f32(1e-7))
    for _ in range(steps):
        gram = x @ x.T
        x = f32(a) * x + (f32(b) * gram + f32(c) * gram @ gram) @ x
    return x.T if tall else x


def run_muon(weights, grads_per_step, lr, momentum=0.95, ns_steps=5, rms_rate=0.2,
             weight_decay=0.004, adam_weight_decay=0.004, adam_beta_1=0.9, adam_beta_2=0.999,
             epsilon=1e-7):
    m = v = None
    for t, w, grads in _steps(weights, grads_per_step):
        m, v = m or _zeros(w), v or _zeros(w)
        for i, g in enumerate(grads):
            matrix = w[i].ndim == 2
            decay = weight_decay if matrix else adam_weight_decay
            w[i] = w[i] - w[i] * f32(decay) * f32(lr)
            if matrix:
                m[i] = m[i] * f32(momentum) + g
                direction = g + f32(momentum) * m[i]
                update = f32(lr) * _orthogonalize(direction, ns_steps)
                w[i] = w[i] - update * np.sqrt(f32(max(w[i].shape))) * f32(rms_rate)
            else:
                m[i] = m[i] + (g - m[i]) * f32(1 - adam_beta_1)
                v[i] = v[i] + (g * g - v[i]) * f32(1 - adam_beta_2)
                correction = f32(lr) * np.sqrt(f32(1) - f32(adam_beta_2) ** f32(t)) / (
                    f32(1) - f32(adam_beta_1) ** f32(t))
                w[i] = w[i] - m[i] * correction / (np.sqrt(v[i]) + f32(epsilon))
        weights = w
    return weights
