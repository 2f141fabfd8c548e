"""Streamed input: generators, iterables, Grain datasets and loaders, PyDataset workers; batches
prefetched to the device on a background thread that never outlives the loop."""

import os
import threading
import time

import jax
import numpy as np
import pytest

import lamina as keras
from lamina.training.prefetch import Prefetcher

# Four batches of 16 and a last one of 6: every streamed form meets a smaller last batch.
X = np.random.default_rng(0).normal(size=(70, 4)).astype("float32")
Y = (X.sum(axis=1, keepdims=True) > 0).astype("float32")
BATCH = 16


def _model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
    return model


def _batches():
    for start in range(0, len(X), BATCH):
        yield X[start:start + BATCH], Y[start:start + BATCH]


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lamina-prefetch")]


@pytest.fixture(scope="module")
def array_history():
    """Two epochs on the arrays, in order: what every streamed form must reproduce."""
    model = _model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    return history.history["loss"], model.predict(X, verbose=0)


@pytest.fixture(scope="module")
def spare_model():
    """One compiled model for the tests that check errors and stopping, not numbers: each
    streamed fit checks its own batches, so the model's earlier fits do not matter there."""
    return _model()


class Iterable:
    """Any object with __iter__: fit starts a new pass each epoch."""

    def __init__(self):
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        return _batches()


def test_iterable_of_batches_is_reiterated_each_epoch_like_arrays(array_history):
    losses, predictions = array_history
    source = Iterable()
    model = _model()
    history = model.fit(source, epochs=2, verbose=0)
    assert source.passes == 2
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-6)
    np.testing.assert_allclose(model.predict(Iterable(), verbose=0), predictions, rtol=1e-6)
    assert not _prefetch_threads()


def test_endless_generator_with_steps_matches_arrays(array_history):
    def endless():
        while True:
            yield from _batches()

    model = _model()
    history = model.fit(endless(), steps_per_epoch=5, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], array_history[0], rtol=1e-6)
    assert not _prefetch_threads()


grain = pytest.importorskip("grain")


def test_grain_map_iter_datasets_and_loader(array_history):
    losses, predictions = array_history
    records = [(X[i], Y[i]) for i in range(len(X))]
    dataset = grain.MapDataset.source(records).batch(BATCH)
    model = _model()
    assert model.fit(dataset, epochs=2, verbose=0).history["loss"] == pytest.approx(losses)
    # The same two epochs on the same batches: the same weights, the same predictions.
    np.testing.assert_allclose(model.predict(dataset.to_iter_dataset(), verbose=0),
                               predictions, rtol=1e-6)

    class Source:
        def __len__(self):
            return len(records)

        def __getitem__(self, index):
            return records[index]

    loader = grain.DataLoader(
        data_source=Source(), operations=[grain.transforms.Batch(BATCH)], worker_count=0,
        sampler=grain.samplers.IndexSampler(len(records), shuffle=False, num_epochs=1))
    model = _model()
    assert model.fit(loader, epochs=2, verbose=0).history["loss"] == pytest.approx(losses)
    assert model.evaluate(loader, verbose=0) == pytest.approx(
        model.evaluate(X, Y, batch_size=BATCH, verbose=0))
    assert not _prefetch_threads()


def test_prefetcher_runs_ahead_bounded_and_on_the_device():
    pulled = []

    def source():
        for index in range(10):
            pulled.append(index)
            yield np.full((2,), index, np.float32)

    with Prefetcher(source(), size=2) as batches:
        first = next(batches)
        assert isinstance(first, jax.Array) and first.tolist() == [0.0, 0.0]
        deadline = time.monotonic() + 5
        while len(pulled) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        # batch 0 taken, 1 and 2 queued, 3 pulled and waiting for room: no further.
        assert len(pulled) == 4
        assert [b.tolist()[0] for b in batches] == list(range(1, 10))
    assert not _prefetch_threads()


def test_error_in_generator_reaches_caller_with_batch_index_and_no_thread_leaks(spare_model):
    def failing():
        yield from list(_batches())[:3]
        raise OSError("disk went away")

    model = spare_model
    with pytest.raises(OSError, match="disk went away") as info:
        model.fit(failing(), epochs=1, verbose=0)
    assert any("batch 3" in note for note in info.value.__notes__)
    assert not _prefetch_threads()


def test_stopping_early_joins_the_prefetch_thread(spare_model):
    class StopAtOne(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    def endless():
        while True:
            yield from _batches()

    model = spare_model
    history = model.fit(endless(), steps_per_epoch=100, epochs=3, verbose=0,
                        callbacks=[StopAtOne()])
    assert len(history.history["loss"]) == 1
    assert not _prefetch_threads()


def test_batches_of_changing_structure_are_refused_naming_batch_and_both(spare_model):
    def changing():
        batches = list(_batches())
        yield batches[0]
        yield batches[1]
        yield batches[2] + (np.ones(BATCH, np.float32),)

    model = spare_model
    with pytest.raises(ValueError) as info:
        model.fit(changing(), epochs=1, verbose=0)
    text = str(info.value)
    assert "Batch 2" in text and "sample_weight: (16,) float32" in text
    assert "the first was x: (16, 4) float32, y: (16, 1) float32" in text
    assert not _prefetch_threads()


class Batches(keras.utils.PyDataset):
    def __init__(self, log_dir=None, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.log_dir = log_dir
        self.fail_at = fail_at

    def __len__(self):
        return -(-len(X) // BATCH)

    def __getitem__(self, index):
        if index == self.fail_at:
            raise KeyError(f"no batch {index}")
        if self.log_dir is not None:
            name = f"{os.getpid()}-{threading.current_thread().name}-{index}"
            open(os.path.join(self.log_dir, name), "w").close()
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return X[rows], Y[rows]


@pytest.mark.parametrize("use_multiprocessing", [False, True])
def test_pydataset_workers_threads_and_processes(tmp_path, array_history, use_multiprocessing):
    dataset = Batches(log_dir=str(tmp_path), workers=2, max_queue_size=2,
                      use_multiprocessing=use_multiprocessing)
    model = _model()
    history = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], array_history[0], rtol=1e-6)
    logged = [name.split("-") for name in os.listdir(tmp_path)]  # pid, thread, index
    assert {index for *_, index in logged} == {"0", "1", "2", "3", "4"}
    pids = {pid for pid, *_ in logged}
    if use_multiprocessing:
        assert str(os.getpid()) not in pids
    else:
        assert pids == {str(os.getpid())}
        assert all(thread == "lamina" for _, thread, *_ in logged)  # lamina-pydataset_N
    assert not _prefetch_threads()


def test_pydataset_worker_error_names_the_index(spare_model):
    model = spare_model
    with pytest.raises(KeyError) as info:
        model.fit(Batches(fail_at=2, workers=2), epochs=1, shuffle=False, verbose=0)
    assert any("__getitem__(2)" in note and "batch 2" in note for note in info.value.__notes__)
    assert not _prefetch_threads()


def test_a_callback_that_needs_every_batch_sees_every_batch(array_history):
    """With a batch-level callback, batches run one program each; the numbers stay the
    arrays' (the groups of the other tests run several batches per program)."""
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model = _model()
    history = model.fit(Iterable(), epochs=2, verbose=0, callbacks=[counter])
    assert seen == [0, 1, 2, 3, 4] * 2
    np.testing.assert_allclose(history.history["loss"], array_history[0], rtol=1e-6)
    np.testing.assert_allclose(model.predict(Iterable(), verbose=0), array_history[1],
                               rtol=1e-6)


def test_groups_grow_from_the_first_and_keep_every_row_in_order():
    from lamina.training import data as data_lib

    batches = [(np.full((2, 3), step, np.float32), np.full((2, 1), -step, np.float32))
               for step in range(40)]
    groups = list(data_lib._grouped(iter(batches), 32, {}, 4))
    assert [group.count for group in groups] == [4, 8, 16, 12]
    step = 0
    for group in groups:
        x, y = (np.asarray(a) for a in group.arrays)
        assert x.shape == (64, 3)  # every group has the full group's slots: one program
        for index in range(group.count):
            rows = np.asarray(group.table)[index]
            np.testing.assert_array_equal(x[rows], batches[step][0])
            np.testing.assert_array_equal(y[rows], batches[step][1])
            step += 1
    assert step == 40


def test_a_long_stream_in_growing_groups_trains_like_arrays():
    x = np.random.default_rng(2).normal(size=(44, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = _model()
    expected = model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    batches = [(x[start:start + 2], y[start:start + 2]) for start in range(0, 44, 2)]
    model = _model()
    history = model.fit(_Reiterable(batches), epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)
    assert not _prefetch_threads()


class _Reiterable:
    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)
