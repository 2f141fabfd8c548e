"""One of two processes training data-parallel on localhost (run by test_multi_process.py),
each with 2 simulated CPU devices: a 4-device mesh over two processes, CPU collectives
(gloo) between them.

Usage: python _two_process_worker.py PORT PROCESS_ID OUT_JSON
"""

import json
import os
import sys

import jax

jax.config.update("jax_cpu_collectives_implementation", "gloo")

import numpy as np  # noqa: E402

import lamina as keras  # noqa: E402

port, process_id, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keras.distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=process_id,
                              initialization_timeout=60)
distribution = keras.distribution.DataParallel()
keras.distribution.set_distribution(distribution)
keras.utils.set_random_seed(3)
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
# Each process feeds its own rows: global batch i = process 0's batch i, then process 1's.
rows = np.random.default_rng(10 + process_id)
x = rows.normal(size=(32, 6)).astype("float32")
y = x.sum(axis=1, keepdims=True).astype("float32")
# Both processes save into one directory (this host's disk stands for a shared file system):
# Orbax has the primary process write the metadata and every process its part of the arrays.
checkpoints = os.path.join(os.path.dirname(out), "orbax")
history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                    callbacks=[keras.callbacks.OrbaxCheckpoint(checkpoints, max_to_keep=1)])
# Replicated Variables are whole on every process: each can write the model file.
model.save(out.replace(".json", ".keras"))
# Each process gets the predictions of the rows it fed (28: a last batch of 4 per process).
predictions = model.predict(x[:28], batch_size=8, verbose=0)
errors = {}
for name, rows in (("uneven", 28 - 4 * process_id), ("odd_last", 31)):
    try:
        model.predict(x[:rows], batch_size=8, verbose=0)
    except ValueError as error:
        errors[name] = str(error)
# fit and evaluate refuse uneven rows the same way (they used to wait forever at the step
# the shorter process no longer joins).
uneven_x, uneven_y = x[:28 - 4 * process_id], y[:28 - 4 * process_id]
for name, call in (("uneven_fit", lambda: model.fit(uneven_x, uneven_y, batch_size=8,
                                                     verbose=0)),
                   ("uneven_evaluate", lambda: model.evaluate(uneven_x, uneven_y,
                                                              batch_size=8, verbose=0))):
    try:
        call()
    except ValueError as error:
        errors[name] = str(error)
json.dump({
    "errors": errors,
    "predictions": predictions.tolist(),
    "small_predictions": model.predict(x[:4], verbose=0).tolist(),  # one batch
    "checkpoint_files": sorted(os.path.relpath(os.path.join(root, name), checkpoints)
                               for root, _, names in os.walk(checkpoints) for name in names),
    "process_index": jax.process_index(), "process_count": jax.process_count(),
    "device_count": jax.device_count(), "local_device_count": jax.local_device_count(),
    "loss": history.history["loss"],
    "weights": [np.asarray(w).tolist() for w in model.get_weights()],
}, open(out, "w"))
jax.distributed.shutdown()
