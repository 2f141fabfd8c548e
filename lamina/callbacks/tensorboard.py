"""`TensorBoard`: writes metrics, weight histograms and the model graph as TensorBoard logs.

Event files are written by tensorboardX (an optional dependency: `pip install
'lamina[tensorboard]'`), imported only when the callback first writes: the callback can be
made (and configured, saved in a list, passed around) without it, as in Keras, and the
`ImportError` saying what to install comes when training starts and it would write.
"""

import os
import time
import warnings

import numpy as np

from lamina.callbacks.callback import Callback

_INSTALL_HINT = (
    "The TensorBoard callback writes event files with the tensorboardX package, which is not "
    "installed. Install it with `pip install 'lamina[tensorboard]'` (or "
    "`pip install 'tensorboardX>=2.6,<3'`), then view the logs with `tensorboard --logdir`.")


class TensorBoard(Callback):
    """Writes logs for TensorBoard: scalars per epoch (and per batch), weight histograms, the
    model's graph.

    Layout, as Keras writes it: `log_dir/train/` holds the training scalars (`epoch_loss`,
    `epoch_learning_rate`, `batch_loss`, ...), the histograms (`<weight path>/histogram`)
    and the graph; `log_dir/validation/` holds the validation scalars (`epoch_loss` from
    `val_loss`, and `evaluation_loss_vs_iterations` at optimizer steps).

    Args:
        log_dir: the folder for the logs. Defaults to `"logs"`.
        histogram_freq: write weight histograms every this many epochs; 0 for none.
        write_graph: write the model's architecture (its JSON config, which TensorBoard's
            graph tab draws as a conceptual graph). Defaults to True.
        write_images: also write 1-D and 2-D weights as images (needs Pillow). Defaults to
            False.
        write_steps_per_second: log training steps per second each epoch. Defaults to False.
        update_freq: `"epoch"`, `"batch"`, or an integer N: also write the running batch
            metrics (`batch_<name>`) every N steps (the trainer may run several steps per
            compiled program; values are written when a multiple of N is passed).
        profile_batch: a batch or a `(start, stop)` pair of batches (1-based, counted across
            epochs) to trace with `jax.profiler`; 0 for none. Defaults to 0.
        embeddings_freq, embeddings_metadata: accepted for compatibility; the embedding
            projector is not written (a warning says so when embeddings_freq is set).

    Examples:
        >>> tensorboard = TensorBoard(log_dir="./logs", histogram_freq=1)
        >>> # model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[tensorboard])
        >>> # then: tensorboard --logdir ./logs
    """

    _sparse_batch_hooks = True

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool)
                and update_freq > 0):
            raise ValueError(
                f"TensorBoard expects update_freq 'epoch', 'batch' or a positive integer N "
                f"(write batch metrics every N steps). Received: update_freq={update_freq!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(
                "TensorBoard expects histogram_freq to be an integer >= 0 (0 writes no "
                f"histograms). Received: histogram_freq={histogram_freq!r}")
        if embeddings_freq:
            warnings.warn(
                "TensorBoard: lamina does not write embedding projector data; "
                f"embeddings_freq={embeddings_freq} is ignored.", stacklevel=2)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _parse_profile_batch(profile_batch)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._is_tracing = False
        self._reset_counters()

    def _reset_counters(self):
        self._steps_before_epoch = 0  # training steps finished in earlier epochs
        self._epoch_steps = 0
        self._last_batch_step = 0
        self._epoch_start_time = None

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()

    # ------------------------------------------------------------------------ writers
    def _writer(self, kind):
        if kind not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as error:
                raise ImportError(_INSTALL_HINT) from error
            folder = self._train_dir if kind == "train" else self._val_dir
            self._writers[kind] = SummaryWriter(logdir=folder)
        return self._writers[kind]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _listens_to_batches(self, mode):
        return mode == "train" and (self.update_freq != "epoch" or bool(self._start_batch)
                                    or self.write_steps_per_second)

    # ------------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._reset_counters()
        if self.write_graph:
            self._write_model_graph()

    def on_train_end(self, logs=None):
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_steps = 0
        self._epoch_start_time = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        step = self._steps_before_epoch + batch + 1
        if self._start_batch and not self._is_tracing and (
                self._start_batch <= step <= self._stop_batch):
            self._start_trace()

    def on_train_batch_end(self, batch, logs=None):
        self._epoch_steps = batch + 1
        step = self._steps_before_epoch + batch + 1
        if self.update_freq != "epoch" and logs and (
                step // self.update_freq > self._last_batch_step // self.update_freq):
            writer = self._writer("train")
            for name, value in logs.items():
                scalar = _as_scalar(value)
                if scalar is not None:
                    writer.add_scalar(f"batch_{name}", scalar, step)
            self._last_batch_step = step
        if self._is_tracing and step >= self._stop_batch:
            self._stop_trace()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._steps_before_epoch += self._epoch_steps
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        learning_rate = self._learning_rate()
        if learning_rate is not None and "learning_rate" not in train_logs:
            train_logs["learning_rate"] = learning_rate
        if self.write_steps_per_second and self._epoch_start_time is not None:
            seconds = time.perf_counter() - self._epoch_start_time
            if seconds > 0 and self._epoch_steps:
                train_logs["steps_per_second"] = self._epoch_steps / seconds
        for kind, values in (("train", train_logs), ("val", val_logs)):
            if not values:
                continue
            writer = self._writer(kind)
            for name, value in values.items():
                scalar = _as_scalar(value)
                if scalar is not None:
                    writer.add_scalar(f"epoch_{name}", scalar, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if not logs or iterations is None:
            return
        step = int(np.asarray(iterations))
        writer = self._writer("val")
        for name, value in logs.items():
            scalar = _as_scalar(value)
            if scalar is not None:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", scalar, step)
        writer.flush()

    # ------------------------------------------------------------------------ content
    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)  # synced: no donated buffers
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return _as_scalar(optimizer.learning_rate)

    def _write_weights(self, epoch):
        model = self.model  # synced: the values are the newest
        variables = list(model.weights)
        values = model.get_weights()  # NumPy copies
        writer = self._writer("train")
        for variable, value in zip(variables, values):
            name = str(getattr(variable, "path", None) or variable.name).replace(":", "_")
            value = np.asarray(value)
            if value.size == 0:
                continue
            writer.add_histogram(f"{name}/histogram", value.astype(np.float64), epoch)
            if self.write_images:
                image = _weight_image(value)
                if image is not None:
                    self._write_image(writer, f"{name}/image", image, epoch)

    def _write_image(self, writer, tag, image, epoch):
        try:
            writer.add_image(tag, image, epoch, dataformats="HW")
        except ImportError:  # tensorboardX encodes PNGs with Pillow, an optional package
            warnings.warn(
                "TensorBoard(write_images=True) needs the Pillow package to encode images; "
                "weight images are skipped. Install it with `pip install pillow`.",
                stacklevel=4)
            self.write_images = False

    def _write_model_graph(self):
        """The model's JSON config as Keras's `graph_keras_model` summary (TensorBoard's graph
        tab draws it). Models whose config cannot be written are skipped, as in Keras."""
        to_json = getattr(self._model, "to_json", None)
        if to_json is None:
            return
        try:
            config = to_json()
        # A model that cannot describe itself must not stop fit.
        except Exception as error:  # noqa: BLE001
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {error}",
                          stacklevel=3)
            return
        writer = self._writer("train")  # first: without tensorboardX it says what to install
        from tensorboardX.proto import summary_pb2, tensor_pb2, types_pb2

        metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING,
                                        string_val=[config.encode("utf-8")])
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer._get_file_writer().add_summary(summary, 0)

    # ------------------------------------------------------------------------ profiling
    def _start_trace(self):
        import jax

        jax.profiler.start_trace(self._train_dir)
        self._is_tracing = True

    def _stop_trace(self):
        import jax

        jax.profiler.stop_trace()
        self._is_tracing = False


def _as_scalar(value):
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.ndim != 0 or array.dtype.kind not in "biuf":
        return None
    return float(array)


def _weight_image(value):
    """A weight as a grey image in [0, 1]: biases as one row, kernels wide side across."""
    image = np.squeeze(value)
    if image.ndim == 1:
        image = image[None, :]
    elif image.ndim == 2:
        if image.shape[0] > image.shape[1]:
            image = image.T
    else:
        return None
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _parse_profile_batch(profile_batch):
    message = (
        "profile_batch must be a non-negative integer or a pair of positive integers "
        "(start, stop), also written as the string 'start,stop'. Received: "
        f"profile_batch={profile_batch!r}")
    value = profile_batch
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            raise ValueError(message) from None
        value = value[0] if len(value) == 1 else value
    if isinstance(value, int) and not isinstance(value, bool):
        start = stop = value
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        start, stop = value
    else:
        raise ValueError(message)
    if start < 0 or stop < start or (start == 0 and stop != 0):
        raise ValueError(message)
    return start, stop
