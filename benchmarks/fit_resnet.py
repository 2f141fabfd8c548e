"""Time per training step of a ResNet-20-shaped CNN with batch norm: lamina vs Keras 3 (JAX,
TensorFlow) vs hand-written JAX of the same formulation.

The network, on 32x32x3 images with 10 classes: Conv(16, 3)-BatchNorm-ReLU, then three
stages of three residual blocks (16, 32, 64 channels; the first block of stages 2 and 3 has
stride 2 and a 1x1 strided Conv-BatchNorm shortcut), each block Conv-BN-ReLU-Conv-BN, add,
ReLU; GlobalAveragePooling2D, Dense(10). Convolutions "same", without bias; sparse
categorical cross-entropy from logits, SGD(0.05, momentum 0.9), batch 128, 4,096 generated
images (class templates plus noise; nothing is downloaded).

Sides, each in its own process, alternate epoch by epoch (the driver is fit_vae_decoder.py's):
lamina's `fit`, Keras 3 on JAX and on TensorFlow (`--tf-python`), and hand-written JAX (one
jitted epoch, `lax.scan`, optax's SGD with momentum; convolutions by lamina's CPU formulation,
`lamina.layers._conv_kernels.conv`, batch norm written out as Keras's).

    python benchmarks/fit_resnet.py [--epochs 4] [--rows 4096] [--skip tensorflow]
        [--baseline-lamina DIR]

`--baseline-lamina DIR` adds a side running the lamina package found in DIR (for instance
`git archive <commit> lamina | tar -x -C DIR`), to measure a change before and after, side by
side in one run.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fit_vae_decoder as driver  # noqa: E402

ROWS, BATCH, CLASSES = 4096, 128, 10
STAGES = ((16, 1), (32, 2), (64, 2))


def make_data(rows):
    rng = np.random.default_rng(42)
    templates = rng.random((CLASSES, 8, 8, 3)).repeat(4, axis=1).repeat(4, axis=2)
    y = rng.integers(0, CLASSES, rows).astype(np.int32)
    x = templates[y] + rng.normal(scale=0.5, size=(rows, 32, 32, 3))
    return x.astype(np.float32), y


def build_model(keras):
    keras.utils.set_random_seed(0)
    layers = keras.layers

    def conv_bn(x, filters, kernel=3, stride=1):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        return layers.BatchNormalization()(x)

    inputs = keras.Input((32, 32, 3))
    x = layers.ReLU()(conv_bn(inputs, 16))
    for filters, stride in STAGES:
        for block in range(3):
            s = stride if block == 0 else 1
            h = layers.ReLU()(conv_bn(x, filters, stride=s))
            h = conv_bn(h, filters)
            shortcut = conv_bn(x, filters, kernel=1, stride=s) if s != 1 else x
            x = layers.ReLU()(layers.Add()([h, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(CLASSES)(x))
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def train_flops_per_step(batch=BATCH):
    """Multiply-add FLOPs (2 per multiply-add) of the convolutions, forward and backward
    (no input gradient for the first); elementwise work is left out."""
    total, size, channels = 2 * batch * 32 * 32 * 16 * 27 * 2, 32, 16
    for filters, stride in STAGES:
        for block in range(3):
            s = stride if block == 0 else 1
            size //= s
            total += 3 * 2 * batch * size * size * filters * 9 * channels
            total += 3 * 2 * batch * size * size * filters * 9 * filters
            if s != 1:
                total += 3 * 2 * batch * size * size * filters * channels
            channels = filters
    return total


def jax_resnet(rows):
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    from lamina.layers import _conv_kernels as kernels

    def conv(x, w, stride):
        return kernels.conv(x, w, (stride, stride), "SAME", (1, 1), channels_first=False)

    def glorot(key, shape):
        fan_in = int(np.prod(shape[:-1]))
        fan_out = int(np.prod(shape[:-2])) * shape[-1]
        limit = np.sqrt(6 / (fan_in + fan_out))
        return jax.random.uniform(key, shape, jnp.float32, -limit, limit)

    keys = iter(jax.random.split(jax.random.PRNGKey(0), 64))
    params, stats = {}, {}

    def add_conv_bn(name, shape):
        params[name] = glorot(next(keys), shape)
        params[name + "/gamma"] = jnp.ones(shape[-1])
        params[name + "/beta"] = jnp.zeros(shape[-1])
        stats[name] = (jnp.zeros(shape[-1]), jnp.ones(shape[-1]))

    add_conv_bn("stem", (3, 3, 3, 16))
    channels = 16
    for i, (filters, stride) in enumerate(STAGES):
        for block in range(3):
            s = stride if block == 0 else 1
            add_conv_bn(f"{i}{block}a", (3, 3, channels, filters))
            add_conv_bn(f"{i}{block}b", (3, 3, filters, filters))
            if s != 1:
                add_conv_bn(f"{i}{block}s", (1, 1, channels, filters))
            channels = filters
    params["dense"] = glorot(next(keys), (64, CLASSES))
    params["dense/bias"] = jnp.zeros(CLASSES)

    def conv_bn(p, st, new, name, x, stride=1):
        x = conv(x, p[name], stride)
        mean, var = jnp.mean(x, axis=(0, 1, 2)), jnp.var(x, axis=(0, 1, 2))
        moving_mean, moving_var = st[name]
        new[name] = (moving_mean * 0.99 + mean * 0.01, moving_var * 0.99 + var * 0.01)
        inv = jax.lax.rsqrt(var + 1e-3) * p[name + "/gamma"]
        return x * inv + (p[name + "/beta"] - mean * inv)

    def loss_fn(p, st, x, y):
        new = {}
        x = jax.nn.relu(conv_bn(p, st, new, "stem", x))
        for i, (filters, stride) in enumerate(STAGES):
            for block in range(3):
                s = stride if block == 0 else 1
                h = jax.nn.relu(conv_bn(p, st, new, f"{i}{block}a", x, s))
                h = conv_bn(p, st, new, f"{i}{block}b", h)
                shortcut = conv_bn(p, st, new, f"{i}{block}s", x, s) if s != 1 else x
                x = jax.nn.relu(h + shortcut)
        logits = jnp.mean(x, axis=(1, 2)) @ p["dense"] + p["dense/bias"]
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, new

    optimizer = optax.sgd(0.05, momentum=0.9)

    # The moving statistics are carried beside the parameters, updated from each batch.
    def step(state, batch):
        (p, st), opt_state = state
        (loss, new), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, st, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return ((optax.apply_updates(p, updates), new), opt_state), loss

    full = rows // BATCH
    x, y = make_data(rows)
    x, y = jnp.asarray(x), jnp.asarray(y)

    @jax.jit
    def epoch(state, key):
        order = jax.random.permutation(key, rows)
        idx = order[: full * BATCH].reshape(full, BATCH)
        state, losses = lax.scan(lambda s, i: step(s, (x[i], y[i])), state, idx)
        return state, driver.epoch_mean(losses, BATCH)

    holder = {"state": ((params, stats), optimizer.init(params)),
              "key": jax.random.PRNGKey(1)}

    def run():
        holder["key"], sub = jax.random.split(holder["key"])
        holder["state"], loss = epoch(holder["state"], sub)
        return full, float(loss)
    return run


def worker_main(kind, rows):
    if kind in ("lamina", "keras"):
        worker = driver.FitWorker(kind, rows, build=build_model, data=make_data, batch=BATCH)
    else:
        worker = driver.FnWorker(jax_resnet(rows))
    driver.serve(worker)


def main():
    parser = driver.parser_for(__doc__, ROWS)
    parser.add_argument("--baseline-lamina", metavar="DIR",
                        help="also run the lamina package in DIR (a before/after side)")
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.rows)
    kinds = [("lamina", "lamina"), ("hand-written jax (same formulation)", "jax"),
             ("keras 3 (jax)", "keras")]
    specs = driver.side_specs(__file__, kinds, args)
    if args.baseline_lamina:
        name, command, env = specs[0]
        specs.insert(1, (f"lamina at {args.baseline_lamina}", command,
                         {**env, "PYTHONPATH": os.path.abspath(args.baseline_lamina)}))
    sides = driver.run_sides(specs, args.epochs)
    driver.report(f"ResNet-20-shaped CNN, {args.rows} images, batch {BATCH}: median of "
                  f"{args.epochs - 1} rounds after the first", sides, args.loss_tolerance,
                  flops=train_flops_per_step(), workload="ResNet-20 step")


if __name__ == "__main__":
    main()
