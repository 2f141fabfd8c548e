"""A ModelParallel `fit` on 8 simulated CPU devices, saving with `OrbaxCheckpoint` in the
background every epoch, that is killed (SIGKILL) while a save is still being written
(test_multi_device.py starts it; `_eight_devices.py`, a fresh process, then resumes from what
it left on disk).

It sends itself SIGKILL at the end of its second epoch (`KILL_AT_EPOCH`), just after the
checkpoint of that epoch (step 1) started writing in the background: the checkpoint of the
first epoch (step 0) is complete by then (Orbax finishes one save before it starts the
next), and step 1 is usually still in its temporary folder.

Usage: python _orbax_killed.py CHECKPOINT_DIR   (the same data and model as _eight_devices.py)
"""

import os
import signal
import sys

import numpy as np

import lamina as keras
from lamina import layers
from lamina.distribution import DeviceMesh, LayoutMap, ModelParallel, TensorLayout

KILL_AT_EPOCH = 1
directory = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(100, 12)).astype("float32")[:96]
y = np.tile(x[:, :1] * 2 - x[:, 1:2], (1, 8)).astype("float32")

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


class KillWhileSaving(keras.callbacks.Callback):
    """Runs after OrbaxCheckpoint's epoch end (it comes later in the list)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == KILL_AT_EPOCH:
            os.kill(os.getpid(), signal.SIGKILL)


with ModelParallel(layout_map=layout_map).scope():
    model = wide()
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.OrbaxCheckpoint(directory, max_to_keep=2),
                         KillWhileSaving()])
sys.exit("the process was not killed")
