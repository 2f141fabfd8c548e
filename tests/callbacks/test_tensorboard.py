"""TensorBoard: event files in train/ and validation/, read back record by record."""

import glob
import json
import os
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboardX", reason="the TensorBoard callback needs tensorboardX")

from tensorboardX.proto import event_pb2

from lamina.callbacks import TensorBoard


def read_events(folder):
    """Every summary value in `folder`'s event files: a list of (tag, step, value proto).

    Event files are TFRecord files: [length u64][crc u32][Event proto][crc u32] repeated.
    """
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                found.append((value.tag, event.step, value))
    return found


def scalars(folder):
    return {(tag, step): value.simple_value for tag, step, value in read_events(folder)
            if value.HasField("simple_value")}


def test_epoch_scalars_in_train_and_validation(fake, tmp_path):
    model = fake.Model()
    fake.run_fit(model, [TensorBoard(str(tmp_path), write_graph=False)], epochs=2, steps=2,
                 validation=lambda e: {"loss": 2.0 + e})
    train = scalars(tmp_path / "train")
    assert train == pytest.approx({
        ("epoch_loss", 0): 1.01, ("epoch_mae", 0): 0.5, ("epoch_learning_rate", 0): 0.1,
        ("epoch_loss", 1): 0.51, ("epoch_mae", 1): 0.25, ("epoch_learning_rate", 1): 0.1})
    validation = scalars(tmp_path / "validation")
    assert validation == pytest.approx({
        ("epoch_loss", 0): 2.0, ("epoch_loss", 1): 3.0,
        # at the optimizer's step count when validation ran (2 steps per epoch)
        ("evaluation_loss_vs_iterations", 2): 2.0,
        ("evaluation_loss_vs_iterations", 4): 3.0})


def test_batch_scalars_every_n_steps_with_jumps(fake, tmp_path):
    model = fake.Model()
    fake.run_fit(model, [TensorBoard(str(tmp_path), update_freq=3, write_graph=False)],
                 epochs=2, steps=4, steps_per_execution=2,
                 metrics=lambda e, s: {"loss": 10.0 * e + s})
    batch = {key: v for key, v in scalars(tmp_path / "train").items()
             if key[0] == "batch_loss"}
    # Programs end at global steps 2, 4, 6, 8: multiples of 3 are passed at 4 (3) and 6.
    assert batch == {("batch_loss", 4): 3.0, ("batch_loss", 6): 11.0}
    model = fake.Model()
    fake.run_fit(model, [TensorBoard(str(tmp_path / "b"), update_freq="batch",
                                     write_graph=False)], epochs=1, steps=3)
    steps = sorted(step for tag, step in scalars(tmp_path / "b" / "train") if tag == "batch_loss")
    assert steps == [1, 2, 3]


def test_histograms_and_images(fake, tmp_path):
    try:
        import PIL  # noqa: F401  (tensorboardX encodes images with Pillow)
        has_pillow = True
    except ImportError:
        has_pillow = False
    model = fake.Model()
    callback = TensorBoard(str(tmp_path), histogram_freq=2, write_images=True,
                           write_graph=False)
    if has_pillow:
        fake.run_fit(model, [callback], epochs=3, steps=1)
    else:
        with pytest.warns(UserWarning, match="needs the Pillow package"):
            fake.run_fit(model, [callback], epochs=3, steps=1)
    events = read_events(tmp_path / "train")
    histograms = {(tag, step): value.histo for tag, step, value in events
                  if value.HasField("histo")}
    assert sorted(histograms) == [("bias/histogram", 0), ("bias/histogram", 2),
                                  ("kernel/histogram", 0), ("kernel/histogram", 2)]
    kernel = histograms[("kernel/histogram", 2)]
    assert (kernel.num, kernel.min, kernel.max, kernel.sum) == (4, 3.0, 3.0, 12.0)
    images = {(tag, step) for tag, step, value in events if value.HasField("image")}
    assert images == ({("bias/image", 0), ("bias/image", 2), ("kernel/image", 0),
                       ("kernel/image", 2)} if has_pillow else set())


def test_graph_is_the_model_config(fake, tmp_path):
    model = fake.Model()
    model.to_json = lambda: json.dumps({"class_name": "Sequential", "config": {}})
    fake.run_fit(model, [TensorBoard(str(tmp_path))], epochs=1, steps=1)
    (graph,) = [value for tag, step, value in read_events(tmp_path / "train") if tag == "keras"]
    assert graph.metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graph.tensor.string_val[0])["class_name"] == "Sequential"


def test_steps_per_second(fake, tmp_path):
    fake.run_fit(fake.Model(), [TensorBoard(str(tmp_path), write_steps_per_second=True,
                                            write_graph=False)], epochs=1, steps=3)
    rate = scalars(tmp_path / "train")[("epoch_steps_per_second", 0)]
    assert rate > 0 and np.isfinite(rate)


def test_arguments():
    with pytest.raises(ValueError, match="update_freq 'epoch', 'batch' or a positive integer"):
        TensorBoard(update_freq="step")
    with pytest.raises(ValueError, match="histogram_freq to be an integer >= 0"):
        TensorBoard(histogram_freq=-1)
    with pytest.raises(ValueError, match="profile_batch must be"):
        TensorBoard(profile_batch="a,b")
    with pytest.raises(ValueError, match="profile_batch must be"):
        TensorBoard(profile_batch=(5, 2))
    with pytest.warns(UserWarning, match="embeddings_freq=1 is ignored"):
        TensorBoard(embeddings_freq=1)
    assert TensorBoard(profile_batch="2,4")._stop_batch == 4


def test_missing_tensorboardx_says_how_to_install_when_it_would_write(fake, monkeypatch,
                                                                      tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes `import tensorboardX` fail
    callback = TensorBoard(str(tmp_path), histogram_freq=1)  # constructible, as in Keras
    with pytest.raises(ImportError, match=r"pip install 'lamina\[tensorboard\]'"):
        fake.run_fit(fake.Model(), [callback], epochs=1, steps=2)

    class DescribedModel(fake.Model):  # the graph is the first thing written
        def to_json(self):
            return "{}"

    with pytest.raises(ImportError, match=r"pip install 'lamina\[tensorboard\]'"):
        fake.run_fit(DescribedModel(), [TensorBoard(str(tmp_path))], epochs=1, steps=2)
    assert not (tmp_path / "train").exists()


def test_profile_batch_writes_a_jax_trace(fake, tmp_path):
    fake.run_fit(fake.Model(), [TensorBoard(str(tmp_path), profile_batch=(2, 3),
                                            write_graph=False)], epochs=1, steps=4)
    traces = glob.glob(str(tmp_path / "train" / "plugins" / "profile" / "*" / "*.xplane.pb"))
    assert len(traces) == 1
