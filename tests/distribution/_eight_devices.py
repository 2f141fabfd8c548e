"""The multi-device checks, run once in a process with 8 simulated CPU devices
(test_multi_device.py starts it with XLA_FLAGS=--xla_force_host_platform_device_count=8 and
asserts on the JSON it writes).

Usage: python _eight_devices.py WORK_DIR   (reads WORK_DIR/one_device.keras, writes
WORK_DIR/results.json and WORK_DIR/eight_devices.keras / .weights.h5)
"""

import json
import os
import re
import sys
import time

import jax
import numpy as np

import lamina as keras
from lamina import layers
from lamina.distribution import (DataParallel, DeviceMesh, LayoutMap, ModelParallel,
                                 TensorLayout, set_distribution)

work = sys.argv[1]
results = {"device_count": jax.device_count()}
rng = np.random.default_rng(0)
x = rng.normal(size=(100, 12)).astype("float32")  # batches of 16: six split, one of 4 whole
y = (x[:, :1] * 2 - x[:, 1:2]).astype("float32")


def spec(variable):
    sharding = variable.value.sharding
    return [list(p) if isinstance(p, tuple) else p
            for p in getattr(sharding, "spec", ())] if hasattr(sharding, "spec") else None


def shard_shape(variable):
    return list(variable.value.addressable_shards[0].data.shape)


def error_of(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001  (the test checks class and text)
        return {"type": type(error).__name__, "message": str(error)}
    return None


def mlp():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((12,)), layers.Dense(32, activation="relu"), layers.Dropout(0.25),
        layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


# ---------------------------------------------------------------- DataParallel
# The one-device reference runs in the pytest process, at the same time as this one.
x96, y96 = x[:96], y[:96]  # six batches of 16 and no last partial batch: one program less
with DataParallel().scope():
    dp = mlp()
    dp_history = dp.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    results["dp"] = {
        "kernel_devices": len(dp.layers[0].kernel.value.sharding.device_set),
        "kernel_spec": spec(dp.layers[0].kernel),
        "slot_devices": len(dp.optimizer.variables[-1].value.sharding.device_set),
        "metric_devices": len(dp.metrics_variables[0].value.sharding.device_set),
        "history": dp_history,
        "weights": [w.tolist() for w in dp.get_weights()],
        "predict": dp.predict(x, batch_size=16, verbose=0).tolist(),
        "evaluate": dp.evaluate(x, y, batch_size=16, verbose=0),
        "odd_batch": error_of(lambda: dp.fit(x, y, batch_size=12, verbose=0)),
    }
    # The compiled epoch splits the batch: XLA sums the gradients across devices (the whole
    # epoch, full batches and the partial one, is one program, compiled through the
    # programs' cache; its text is read, not rebuilt).
    programs = next(p for k, p in dp._programs.items() if k[0] == "train")
    loop = next(f.result() for k, f in programs._pending.items() if k[0] == "whole")
    results["dp"]["all_reduce"] = "all-reduce" in loop.as_text()
    dp.save(os.path.join(work, "eight_devices.keras"))
    dp.save_weights(os.path.join(work, "eight_devices.weights.h5"))
    results["dp"]["saved_predictions"] = dp.predict(x[:8], verbose=0).tolist()

# ---------------------------------------------------------------- ModelParallel, 2 x 4 mesh
mesh = DeviceMesh((2, 4), ("batch", "model"))
layout_map = LayoutMap(mesh)
layout_map[".*dense.*kernel"] = (None, "model")
layout_map[".*dense.*bias"] = ("model",)
layout_map[".*einsum.*kernel"] = TensorLayout((None, "model", None))


def wide():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((12,))
    hidden = layers.Dense(64, activation="relu", name="dense_in")(inputs)
    hidden = layers.EinsumDense("ab,bcd->acd", (8, 4), bias_axes="cd", name="einsum")(hidden)
    hidden = layers.Reshape((32,))(hidden)
    outputs = layers.Dense(8, name="dense_out")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


reference = wide()
reference_out = reference.predict(x, batch_size=16, verbose=0)
with ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
    sharded = wide()
    sharded.set_weights(reference.get_weights())
    variables = {v.path: {"spec": spec(v), "shard": shard_shape(v), "shape": list(v.shape)}
                 for v in sharded.weights}
    out = sharded.predict(x, batch_size=16, verbose=0)
    sharded.fit(x96, np.tile(y96, (1, 8)), batch_size=16, epochs=1, verbose=0)  # Adam
    slots = {v.path.split("/", 1)[1]: {"spec": spec(v), "shard": shard_shape(v)}
             for v in sharded.optimizer.variables if v.ndim >= 2}
    results["mp"] = {"variables": variables, "slots": slots,
                     "predict_diff": float(np.abs(out - reference_out).max()),
                     "kernel_after_fit": spec(sharded.get_layer("dense_in").kernel)}

# ---------------------------------------------------------------- Orbax, sharded
# Orbax writes each device's shards (asynchronously, keeping the newest 2 steps) and restores
# straight into the Variables' layouts; the pytest process restores the same steps on one
# device.
orbax_dir = os.path.join(work, "orbax")
with ModelParallel(layout_map=layout_map).scope():
    saver = wide()
    saver.fit(x96, np.tile(y96, (1, 8)), batch_size=16, epochs=3, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.OrbaxCheckpoint(orbax_dir, max_to_keep=2)])
    resumed = wide()
    resumed.optimizer.build(resumed.trainable_variables)  # so that its state is restored
    resumed.load_weights(orbax_dir)
    results["orbax"] = {
        "steps": sorted(os.listdir(orbax_dir)),
        "predictions": saver.predict(x[:8], verbose=0).tolist(),
        "resumed_diff": float(np.abs(resumed.predict(x[:8], verbose=0)
                                     - saver.predict(x[:8], verbose=0)).max()),
        "resumed_iterations": int(resumed.optimizer.iterations.numpy()),
        "resumed_kernel": {"spec": spec(resumed.get_layer("dense_in").kernel),
                           "shard": shard_shape(resumed.get_layer("dense_in").kernel)},
        "resumed_slot_shard": shard_shape(resumed.optimizer.variables[2]),
    }

# ---------------------------------------------------------------- Orbax: killed, then resumed
# _orbax_killed.py ran `saver`'s fit (same model, data and distribution) and was killed by
# SIGKILL while its second checkpoint was being written; the test wrote what it left on disk
# to killed.json. This fresh process resumes from the latest complete step and must end at
# `saver`'s weights.
killed_dir = os.path.join(work, "orbax_killed")
killed_report = os.path.join(work, "killed.json")
for _ in range(1200):  # the killed run starts beside this one; at most 5 minutes
    if os.path.exists(killed_report):
        break
    time.sleep(0.25)
with ModelParallel(layout_map=layout_map).scope():
    after_kill = wide()
    after_kill.load_weights(killed_dir)  # the latest complete step
    kernel = after_kill.get_layer("dense_in").kernel
    slot = after_kill.optimizer.variables[2]
    restored = {"iterations": int(after_kill.optimizer.iterations.numpy()),
                "kernel": {"spec": spec(kernel), "shard": shard_shape(kernel)},
                "slot": {"path": slot.path, "shard": shard_shape(slot)}}
    resumed_from = restored["iterations"] // 6 - 1  # the epoch of that step (6 batches each)
    after_kill.fit(x96, np.tile(y96, (1, 8)), batch_size=16, epochs=3, shuffle=False,
                   initial_epoch=resumed_from + 1, verbose=0,
                   callbacks=[keras.callbacks.OrbaxCheckpoint(killed_dir, max_to_keep=2)])
    results["killed"] = {
        "restored": restored, "resumed_from": resumed_from,
        "steps_after": sorted(os.listdir(killed_dir)),
        "iterations_after": int(after_kill.optimizer.iterations.numpy()),
        "weights_diff": max(float(np.abs(a - b).max()) for a, b in
                            zip(after_kill.get_weights(), saver.get_weights())),
        "optimizer_diff": max(float(np.abs(np.asarray(a.value) - np.asarray(b.value)).max())
                              for a, b in zip(after_kill.optimizer.variables,
                                              saver.optimizer.variables))}

# ---------------------------------------------------------------- custom loop on sharded state
with ModelParallel(layout_map=layout_map).scope():
    custom = wide()
    kernel = custom.get_layer("dense_in").kernel
    optimizer = keras.optimizers.SGD(0.1)

    @keras.function
    def train_step(xb, yb):
        def loss_fn():
            return keras.ops.mean((custom(xb) - yb) ** 2)
        loss, grads = keras.value_and_grad(loss_fn, custom.trainable_variables)()
        optimizer.apply(grads, custom.trainable_variables)
        return loss

    xb = keras.distribution.distribute_tensor(x[:16], TensorLayout(("batch", None), mesh))
    losses = [float(train_step(xb, np.tile(y[:16], (1, 8)))) for _ in range(3)]
    results["custom"] = {"losses": losses, "kernel_spec": spec(kernel),
                         "kernel_shard": shard_shape(kernel)}

# ---------------------------------------------------------------- bad input
bad_map = LayoutMap(mesh)
bad_map[".*dense.*kernel"] = ("model",)  # rank 1 for a rank-2 kernel
with ModelParallel(layout_map=bad_map).scope():
    results["bad_rank"] = error_of(lambda: layers.Dense(4, name="dense_bad")(np.ones((2, 3))))
odd_map = LayoutMap(mesh)
odd_map[".*kernel"] = (None, "model")
with ModelParallel(layout_map=odd_map).scope():
    results["bad_split"] = error_of(lambda: layers.Dense(6, name="dense_odd")(np.ones((2, 3))))
results["bad_axis"] = error_of(lambda: TensorLayout(("model", "nope"), mesh))
results["mesh_too_large"] = error_of(lambda: DeviceMesh((16,), ("batch",)))

# Switching distributions between compile and fit: the state moves to the new layouts.
switched = mlp()  # built and compiled without a distribution
switch_map = LayoutMap(mesh)
switch_map[re.escape(switched.layers[0].kernel.path)] = (None, "model")
with ModelParallel(layout_map=switch_map).scope():
    switched.fit(x96, y96, batch_size=16, epochs=1, verbose=0)
    results["switch"] = {"kernel_shard": shard_shape(switched.layers[0].kernel),
                         "slot_shard": shard_shape(switched.optimizer.variables[2])}
switched.fit(x96, y96, batch_size=16, epochs=1, verbose=0)  # and back to one device
results["switch"]["back_devices"] = len(switched.layers[0].kernel.value.sharding.device_set)

# A layout that does not fit a model built before: fit refuses it and nothing moves.
kept = mlp()  # built, with its optimizer's slots, never trained
kept.optimizer.build(kept.trainable_variables)
before = [w.copy() for w in kept.get_weights()]
existing = list(kept.variables) + list(kept.optimizer.variables)
before_devices = [len(v.value.sharding.device_set) for v in existing]
with ModelParallel(layout_map=odd_map).scope():
    results["half_sharded"] = {"error": error_of(
        lambda: kept.fit(x96, y96, batch_size=16, epochs=1, verbose=0))}
# (metric totals first built by that fit are new: they take the layout, and move later)
results["half_sharded"]["devices"] = [before_devices, [
    len(v.value.sharding.device_set) for v in existing]]
results["half_sharded"]["unchanged"] = all(
    np.array_equal(a, b) for a, b in zip(before, kept.get_weights()))

# ---------------------------------------------------------------- a model saved on one device
with DataParallel().scope():
    loaded = keras.saving.load_model(os.path.join(work, "one_device.keras"))
    results["loaded_from_one"] = {
        "predictions": loaded.predict(x[:8], verbose=0).tolist(),
        "kernel_devices": len(loaded.layers[0].kernel.value.sharding.device_set)}

with open(os.path.join(work, "results.json"), "w") as file:
    json.dump(results, file)
