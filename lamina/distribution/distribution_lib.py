"""`keras.distribution` on `jax.sharding`: meshes, layouts, data and model parallelism.

A `DeviceMesh` names the axes of a grid of devices (a `jax.sharding.Mesh`); a
`TensorLayout` says which mesh axis splits each axis of an array (a `NamedSharding`); a
`Distribution` chooses the layout of every Variable created under it and of every batch the
trainer feeds. Setting one (`set_distribution`, or `with distribution.scope():`) registers it
with the runtime (`lamina._runtime.sharding`), which the Variables and the trainer ask; the
compiled programs are then ordinary `jax.jit` programs over sharded arrays, partitioned by XLA
(GSPMD): means over a batch, metric totals and BatchNormalization statistics are computed over
the whole global batch, as on one device.
"""

import collections.abc
import contextlib
import math
import os
import re
import socket
import time
import warnings

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lamina._registry import keras_export
from lamina._runtime import rng, sharding

DEFAULT_BATCH_DIM_NAME = "batch"
# How long `initialize` waits for the coordinator by default (JAX's own default is 5 minutes).
DEFAULT_INITIALIZATION_TIMEOUT = 120


# ----------------------------------------------------------------------------- devices
def _jax_devices(device_type, where):
    kind = device_type.lower() if device_type else None
    try:
        return jax.devices(kind)
    except RuntimeError as error:
        available = sorted({d.platform for d in jax.devices()})
        raise ValueError(
            f"{where}: no devices of type {device_type!r} here. Received: "
            f"device_type={device_type!r}; available types: {available}. Pass one of those, "
            "or None for the default type.") from error


@keras_export("keras.distribution.list_devices")
def list_devices(device_type=None):
    """The devices a distribution can use, as `"type:id"` strings, across all processes.

    Args:
        device_type: `"cpu"`, `"gpu"` or `"tpu"`; by default the accelerators if there are
            any, else the CPUs (never a mix).

    Examples:
        >>> lamina.distribution.list_devices("cpu")[0]
        'cpu:0'
    """
    return [f"{device.platform}:{device.id}"
            for device in _jax_devices(device_type, "list_devices")]


@keras_export("keras.distribution.get_device_count")
def get_device_count(device_type=None):
    """How many devices of a type there are, across all processes (see `list_devices`).

    Examples:
        >>> lamina.distribution.get_device_count("cpu") >= 1
        True
    """
    return len(_jax_devices(device_type, "get_device_count"))


def _to_device(name):
    if isinstance(name, jax.Device):
        return name
    text = str(name)
    kind, _, index = text.partition(":")
    for device in _jax_devices(kind, "DeviceMesh"):
        if str(device.id) == (index or "0"):
            return device
    raise ValueError(
        f"DeviceMesh: no device {text!r} here. Received: devices containing {text!r}; "
        f"available: {list_devices(kind)}.")


# ----------------------------------------------------------------------------- processes
@keras_export("keras.distribution.initialize")
def initialize(job_addresses=None, num_processes=None, process_id=None, *,
               initialization_timeout=DEFAULT_INITIALIZATION_TIMEOUT):
    """Joins this process to a multi-process (multi-host) computation
    (`jax.distributed.initialize`); call it first, before any other JAX work.

    Every process runs the same program; afterwards `list_devices()` lists the devices of
    all of them, and a distribution's mesh spans them.

    Args:
        job_addresses: `"host:port"` of process 0 (the coordinator), or a comma-separated
            list of every process's address (the first is the coordinator). Read from
            `KERAS_DISTRIBUTION_JOB_ADDRESSES` when None; on managed clusters (Cloud TPU,
            SLURM, Kubernetes with JAX's cluster detection) it may stay None.
        num_processes: how many processes take part (`KERAS_DISTRIBUTION_NUM_PROCESSES`).
        process_id: this process's index, 0 to `num_processes - 1`; 0 is the coordinator
            (`KERAS_DISTRIBUTION_PROCESS_ID`).
        initialization_timeout: seconds to wait for the coordinator and the other
            processes (lamina's addition; JAX's own default is 300). A worker that cannot
            reach the coordinator in that time gets a `ConnectionError`.

    Examples:
        ```python
        # on host 0 and host 1 (process_id=1), same script:
        keras.distribution.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        ```
    """
    environ = os.environ
    if job_addresses is None:
        job_addresses = environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in environ:
        num_processes = int(environ["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in environ:
        process_id = int(environ["KERAS_DISTRIBUTION_PROCESS_ID"])
    coordinator = job_addresses
    if job_addresses and "," in job_addresses:
        addresses = [a.strip() for a in job_addresses.split(",")]
        if num_processes is not None and num_processes != len(addresses):
            raise ValueError(
                f"initialize: job_addresses lists {len(addresses)} processes "
                f"({addresses}) but num_processes={num_processes}. List one address per "
                "process, or pass only the coordinator's address.")
        coordinator = addresses[0]
    if num_processes is not None and process_id is not None and \
            not 0 <= process_id < num_processes:
        raise ValueError(
            f"initialize: process_id must be between 0 and num_processes - 1 = "
            f"{num_processes - 1}. Received: process_id={process_id}.")
    timeout = int(initialization_timeout)
    if coordinator and process_id not in (None, 0):
        # JAX ends the whole process (a C++ fatal error) when the coordinator never answers;
        # reaching it first turns that into an exception the caller can handle.
        _wait_for_coordinator(coordinator, timeout)
    try:
        jax.distributed.initialize(coordinator_address=coordinator,
                                   num_processes=num_processes, process_id=process_id,
                                   initialization_timeout=timeout)
    except RuntimeError as error:
        raise RuntimeError(
            f"initialize: jax.distributed.initialize failed for coordinator={coordinator!r}, "
            f"num_processes={num_processes}, process_id={process_id}: {error}. Call "
            "keras.distribution.initialize before any other JAX or lamina computation, once "
            "per process.") from error
    if jax.process_count() > 1:
        # Every process must draw the same initial weights and shuffles: take process 0's
        # seed (as Keras does when no seed was set).
        from jax.experimental import multihost_utils
        seed = int(multihost_utils.broadcast_one_to_all(
            np.asarray(rng.make_default_seed(), dtype=np.int32)))
        rng.set_random_seed(seed)


def _wait_for_coordinator(address, timeout):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"initialize: the coordinator address must be 'host:port'. Received: "
            f"job_addresses={address!r}.")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise ConnectionError(
                    f"initialize: could not reach the coordinator at {address} within "
                    f"{timeout} s ({error}). Start process 0 (the coordinator) with the same "
                    "job_addresses, check the host, port and firewall, or raise "
                    "initialization_timeout.") from None
            time.sleep(0.25)


def _num_processes():
    return jax.process_count()


# ----------------------------------------------------------------------------- mesh, layout
@keras_export("keras.distribution.DeviceMesh")
class DeviceMesh:
    """A grid of devices with named axes (a `jax.sharding.Mesh`).

    Args:
        shape: the grid's shape: `(8,)` for data parallelism alone, `(2, 4)` for 2-way data
            by 4-way model parallelism.
        axis_names: one name per axis, e.g. `("batch", "model")`; layouts refer to them.
        devices: the devices (`"cpu:0"` strings or `jax.Device`s), as many as the grid
            holds; by default `list_devices()`.

    Examples:
        >>> mesh = lamina.distribution.DeviceMesh((1,), ["batch"], devices=["cpu:0"])
        >>> mesh.shape, mesh.axis_names
        ((1,), ['batch'])
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(
                "DeviceMesh: shape and axis_names must not be empty. Received: "
                f"shape={shape}, axis_names={axis_names}.")
        if isinstance(axis_names, str):
            axis_names = [axis_names]
        if len(shape) != len(axis_names):
            raise ValueError(
                "DeviceMesh: shape and axis_names must have the same length (one name per "
                f"axis). Received: shape={shape}, axis_names={axis_names}.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(
                f"DeviceMesh: axis names must be distinct. Received: axis_names={axis_names}.")
        if devices is None:
            devices = list_devices()
        devices = np.array(devices, dtype=object)
        if math.prod(shape) != devices.size:
            raise ValueError(
                f"DeviceMesh: a mesh of shape {tuple(shape)} needs {math.prod(shape)} devices, "
                f"but {devices.size} were given (devices.shape={devices.shape}"
                f"{'' if devices.size != len(list_devices()) else ', all there are'}). Use a "
                "shape whose product is the number of devices (get_device_count()), or pass "
                "that many devices.")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = np.reshape(devices, shape)

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        return self._devices

    @property
    def backend_mesh(self):
        """The `jax.sharding.Mesh` this mesh stands for."""
        mesh = self.__dict__.get("_backend_mesh")
        if mesh is None:
            grid = np.array([_to_device(d) for d in self._devices.flat],
                            dtype=object).reshape(self._devices.shape)
            mesh = self._backend_mesh = Mesh(grid, tuple(self._axis_names))
        return mesh

    def axis_size(self, name):
        return self._shape[list(self._axis_names).index(name)]

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


@keras_export("keras.distribution.TensorLayout")
class TensorLayout:
    """Which mesh axis splits each axis of an array (a `jax.sharding.NamedSharding`).

    Args:
        axes: one entry per array axis: a mesh axis name, or None to keep that axis whole.
        device_mesh: the `DeviceMesh`; may be set later (a `LayoutMap` sets its own).

    Examples:
        >>> mesh = lamina.distribution.DeviceMesh((1,), ["model"], devices=["cpu:0"])
        >>> lamina.distribution.TensorLayout((None, "model"), mesh).axes
        (None, 'model')
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self):
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError(
                f"TensorLayout {self._axes} already has a device mesh ({self._device_mesh}); "
                "it cannot be replaced. Create a new TensorLayout for another mesh.")
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def backend_layout(self):
        """The `jax.sharding.NamedSharding` this layout stands for."""
        layout = self.__dict__.get("_backend_layout")
        if layout is None:
            if self._device_mesh is None:
                raise ValueError(
                    f"TensorLayout {self._axes} has no device mesh, so it places nothing. "
                    "Pass device_mesh=..., or add it to a LayoutMap, which sets its mesh.")
            layout = self._backend_layout = NamedSharding(
                self._device_mesh.backend_mesh, PartitionSpec(*self._axes))
        return layout

    def _validate_axes(self):
        if self._device_mesh is None:
            return
        valid = set(self._device_mesh.axis_names)
        used = [a for a in self._axes if a is not None]
        unknown = sorted(set(used) - valid)
        if unknown:
            raise ValueError(
                f"TensorLayout {self._axes}: axis names {unknown} are not axes of the mesh "
                f"{self._device_mesh} (its axes: {list(self._device_mesh.axis_names)}). Use "
                "the mesh's axis names, or None for an axis that stays whole.")
        if len(set(used)) != len(used):
            raise ValueError(
                f"TensorLayout {self._axes}: a mesh axis may split only one array axis.")

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


# ----------------------------------------------------------------------------- distributions
class Distribution:
    """The base of `DataParallel` and `ModelParallel`: a mesh, the name of its data axis,
    and the layouts of Variables and batches.

    Args:
        device_mesh: the `DeviceMesh`.
        batch_dim_name: the mesh axis that splits batches.
        auto_shard_dataset: with several processes, whether each process's data is taken
            as its own part of every batch (True: each process feeds different rows).
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = _num_processes()
        self._process_id = jax.process_index()
        self._is_multi_process = self._num_processes > 1
        self._shardings = {}  # the batch and replicated shardings, made once

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = value

    @property
    def num_processes(self):
        return self._num_processes

    @property
    def num_model_replicas(self):
        raise NotImplementedError

    @property
    def num_data_shards(self):
        return min(self.num_model_replicas, self.num_processes)

    @property
    def data_shard_id(self):
        replicas = self.num_model_replicas
        if replicas >= self.num_processes:
            return self._process_id
        return self._process_id // (self.num_processes // replicas)

    def get_data_layout(self, data_shape):
        """The layout of a batch of shape `data_shape`: split along its first axis."""
        axes = [None] * len(data_shape)
        axes[0] = self._batch_dim_name
        return TensorLayout(axes, self._device_mesh)

    def get_variable_layout(self, variable):
        """The layout a Variable is created with (replicated by default)."""
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        return TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path):
        """The layout of an intermediate tensor named `path`, or None."""
        return None

    @contextlib.contextmanager
    def scope(self):
        """Makes this the active distribution inside the block (the previous one after)."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self._device_mesh}>"

    # ------------------------------------------------------------------ runtime protocol
    # The runtime (lamina/_runtime/sharding.py) and the trainer call these.
    def _has_own_layout(self, variable):
        return getattr(variable, "_layout", None) is not None

    def _variable_sharding(self, variable):
        layout = self.get_variable_layout(variable)
        if layout is None:
            layout = TensorLayout([None] * len(variable.shape), self._device_mesh)
        if not isinstance(layout, TensorLayout):
            if isinstance(layout, jax.sharding.Sharding):
                return layout
            raise ValueError(
                f"The layout of variable '{variable.path}' must be a TensorLayout. Received: "
                f"{layout!r}.")
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        _check_fits(layout, variable.shape, f"variable '{variable.path}'")
        return layout.backend_layout

    def _data_shards(self):
        return self._device_mesh.axis_size(self._batch_dim_name)

    def _data_sharding(self, ndim):
        key = ("data", ndim)
        found = self._shardings.get(key)
        if found is None:
            spec = PartitionSpec(self._batch_dim_name, *([None] * (ndim - 1)))
            found = self._shardings[key] = NamedSharding(self._device_mesh.backend_mesh, spec)
        return found

    def _check_process_rows(self, num_rows, batch_size, last, where):
        """With several processes, before any step: every process must feed as many rows
        (else one would wait forever for the others' next batch), and the last global batch
        must split evenly across the data axis. Every process calls this (a collective)."""
        from jax.experimental import multihost_utils

        counts = np.asarray(multihost_utils.process_allgather(
            np.asarray([num_rows], dtype=np.int64))).reshape(-1).tolist()
        if len(set(counts)) > 1:
            raise ValueError(
                f"{where}: under {self}, every process must pass the same number of rows "
                f"(each feeds its part of every global batch). Received: "
                f"{counts[self._process_id]} rows on process {self._process_id}; rows per "
                f"process: {counts}. Give each "
                "process the same number of rows (pad the last process's, and drop the padding "
                "from its predictions).")
        shards = self._data_shards()
        if last and (last * self.num_processes) % shards:
            raise ValueError(
                f"{where}: the last batch has {last} rows on each of the {self.num_processes} "
                f"processes ({last * self.num_processes} in all), which the {shards} devices of "
                f"the data axis '{self._batch_dim_name}' cannot split evenly. Received: "
                f"{num_rows} rows per process with batch_size={batch_size}. Pass a number of "
                f"rows per process whose last batch times {self.num_processes} is divisible by "
                f"{shards} (e.g. pad to a multiple of {batch_size}).")

    def _process_rows(self, output):
        """This process's rows of a batch output (a NumPy array), in the order it fed them.

        With several processes each one feeds its rows of every global batch
        (`jax.make_array_from_process_local_data`), and `predict` lays its outputs out along
        the data axis as the inputs were, so the shards on this process's devices are its rows:
        deduplicated (devices along other mesh axes hold copies) and put in order. An output
        that is not split (a scalar, or replicated) is whole on every device."""
        if not isinstance(output, jax.Array) or output.is_fully_addressable:
            return np.asarray(output)
        pieces = {}
        for shard in output.addressable_shards:
            rows = shard.index[0] if shard.index else slice(None)
            if rows.start is None and rows.stop is None:
                return np.asarray(shard.data)  # not split along the batch: whole here
            pieces.setdefault(rows.start, shard.data)
        return np.concatenate([np.asarray(pieces[start]) for start in sorted(pieces)])

    def _replicated_sharding(self):
        found = self._shardings.get("replicated")
        if found is None:
            found = self._shardings["replicated"] = NamedSharding(
                self._device_mesh.backend_mesh, PartitionSpec())
        return found


def _check_fits(layout, shape, what):
    """Raises if `layout` cannot split an array of `shape` (rank, divisibility)."""
    shape = tuple(shape)
    if len(layout.axes) != len(shape):
        raise ValueError(
            f"The layout {layout.axes} does not fit {what} of shape {shape}: it has "
            f"{len(layout.axes)} axes, the array {len(shape)}. Give one entry "
            "per axis (a mesh axis name or None), e.g. "
            f"{tuple([None] * (len(shape) - 1) + ['model']) if shape else ()}, or change the "
            "LayoutMap key so that it does not match this path.")
    mesh = layout.device_mesh
    for axis, (name, size) in enumerate(zip(layout.axes, shape)):
        if name is None:
            continue
        parts = mesh.axis_size(name)
        if size % parts:
            raise ValueError(
                f"The layout {layout.axes} does not fit {what} of shape {shape}: axis {axis} "
                f"(size {size}) cannot be split into {parts} equal parts along mesh axis "
                f"{name!r}. Use a size divisible by {parts}, or None for that axis.")


@keras_export("keras.distribution.DataParallel")
class DataParallel(Distribution):
    """Data parallelism: every device holds all the weights, and each batch is split along
    its first axis across the devices; gradients are summed across them by XLA.

    Pass a 1-D `device_mesh`, or a list of `devices`, or neither (all devices).

    Args:
        device_mesh: a `DeviceMesh`; its first axis splits the batches.
        devices: the devices of a 1-D mesh named `"batch"`.
        auto_shard_dataset: see `Distribution`.

    Examples:
        >>> distribution = lamina.distribution.DataParallel(devices=["cpu:0"])
        >>> distribution.batch_dim_name, distribution.num_model_replicas
        ('batch', 1)
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(
                    "DataParallel: device_mesh must be a keras.distribution.DeviceMesh. "
                    f"Received: device_mesh={device_mesh!r} of type "
                    f"{type(device_mesh).__name__}.")
            if device_mesh.devices.ndim != 1:
                warnings.warn(
                    f"DataParallel expects a 1-D mesh; received one of shape "
                    f"{device_mesh.shape}. Its first axis splits the batches.", stacklevel=2)
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
            return
        devices = np.array(devices if devices else list_devices(), dtype=object)
        mesh = DeviceMesh(devices.shape, [DEFAULT_BATCH_DIM_NAME], devices)
        super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)

    @property
    def num_model_replicas(self):
        return self._device_mesh.devices.size


@keras_export("keras.distribution.ModelParallel")
class ModelParallel(Distribution):
    """Model (and data) parallelism: Variables are split as a `LayoutMap` says, and batches
    along `batch_dim_name`; Variables the map does not match are replicated.

    Args:
        layout_map: a `LayoutMap` (it holds the mesh).
        batch_dim_name: the mesh axis that splits batches; by default the mesh's first.
        auto_shard_dataset: see `Distribution`.

    Examples:
        >>> mesh = lamina.distribution.DeviceMesh((1, 1), ["batch", "model"], ["cpu:0"])
        >>> layout_map = lamina.distribution.LayoutMap(mesh)
        >>> layout_map[".*dense.*kernel"] = (None, "model")
        >>> distribution = lamina.distribution.ModelParallel(layout_map=layout_map)
        >>> distribution.batch_dim_name
        'batch'
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True,
                 **kwargs):
        kwargs.pop("device_mesh", None)  # Keras accepts and ignores it: the map has one
        if kwargs:
            raise TypeError(f"ModelParallel: unexpected arguments {sorted(kwargs)}.")
        if layout_map is None:
            raise ValueError("ModelParallel needs layout_map=LayoutMap(device_mesh).")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(
                "ModelParallel: layout_map must be a keras.distribution.LayoutMap. Received: "
                f"layout_map={layout_map!r} of type {type(layout_map).__name__}.")
        mesh = layout_map.device_mesh
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(
                f"ModelParallel: batch_dim_name={batch_dim_name!r} is not an axis of the mesh "
                f"(its axes: {list(mesh.axis_names)}).")
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self._layout_map = layout_map
        if self._is_multi_process and self.num_processes > self.num_model_replicas and \
                self.num_processes % self.num_model_replicas:
            raise ValueError(
                "ModelParallel: with more processes than model replicas, the number of "
                f"processes must be a multiple of it. Received: num_processes="
                f"{self.num_processes}, num_model_replicas={self.num_model_replicas}.")

    @property
    def num_model_replicas(self):
        return self._device_mesh.axis_size(self._batch_dim_name)

    def get_variable_layout(self, variable):
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        layout = self._layout_map[variable.path]
        if layout is not None:
            return layout
        return TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path):
        return self._layout_map[path]

    def _has_own_layout(self, variable):
        return super()._has_own_layout(variable) or self._layout_map[variable.path] is not None


@keras_export("keras.distribution.LayoutMap")
class LayoutMap(collections.abc.MutableMapping):
    """Variable paths (regular expressions) -> `TensorLayout`s, for `ModelParallel`.

    A lookup returns the layout of the key equal to the path, else of the one key whose
    regular expression matches the whole path (`re.fullmatch`), else None; a path matched by
    several keys is an error. A value may be a tuple of axis names, made a `TensorLayout`
    on this map's mesh.

    Args:
        device_mesh: the `DeviceMesh` the layouts refer to.

    Examples:
        >>> mesh = lamina.distribution.DeviceMesh((1,), ["model"], devices=["cpu:0"])
        >>> layout_map = lamina.distribution.LayoutMap(mesh)
        >>> layout_map[".*dense.*kernel"] = (None, "model")
        >>> layout_map["sequential/dense_1/kernel"].axes
        (None, 'model')
        >>> layout_map["sequential/dense_1/bias"] is None
        True
    """

    def __init__(self, device_mesh):
        self._layout_map = collections.OrderedDict()
        self._device_mesh = device_mesh

    def __getitem__(self, key):
        if key in self._layout_map:
            return self._layout_map[key]
        matches = [pattern for pattern in self._layout_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches several LayoutMap keys: {matches}. Make each path match "
                "at most one key (anchor the patterns, or make them more specific).")
        return self._layout_map[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if key in self._layout_map:
            raise ValueError(
                f"LayoutMap: key {key!r} is already set (to {self._layout_map[key]}). Delete "
                "it first, or use another key.")
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(
                f"LayoutMap: key {key!r} is not a valid regular expression ({error}).") from None
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(tuple(layout), device_mesh=None)
        if not isinstance(layout, TensorLayout):
            raise ValueError(
                f"LayoutMap[{key!r}]: a layout must be a TensorLayout or a tuple of mesh axis "
                f"names (None for a whole axis). Received: {layout!r} of type "
                f"{type(layout).__name__}.")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key):
        return self._layout_map.pop(key)

    def __len__(self):
        return len(self._layout_map)

    def __iter__(self):
        return iter(self._layout_map)

    @property
    def device_mesh(self):
        return self._device_mesh


# ----------------------------------------------------------------------------- global state
@keras_export("keras.distribution.distribute_tensor")
def distribute_tensor(tensor, layout):
    """`tensor` laid out as `layout` says: moved (outside a compiled function) or constrained
    (inside one, `jax.lax.with_sharding_constraint`).

    Args:
        tensor: an array.
        layout: a `TensorLayout` (with a mesh) or a `jax.sharding.Sharding`.

    Examples:
        >>> mesh = lamina.distribution.DeviceMesh((1,), ["batch"], devices=["cpu:0"])
        >>> layout = lamina.distribution.TensorLayout(("batch", None), mesh)
        >>> lamina.distribution.distribute_tensor(np.ones((2, 3)), layout).shape
        (2, 3)
    """
    if hasattr(tensor, "_keras_history"):  # a symbolic tensor: layouts apply to values
        return tensor
    if isinstance(layout, TensorLayout):
        _check_fits(layout, np.shape(tensor), "the tensor")
        layout = layout.backend_layout
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, layout)
    if isinstance(tensor, jax.Array) and tensor.sharding.is_equivalent_to(layout, tensor.ndim):
        return tensor
    return jax.device_put(tensor, layout)


@keras_export("keras.distribution.distribution")
def distribution():
    """The active distribution (set by `set_distribution` or a `scope()`), or None.

    Examples:
        >>> lamina.distribution.distribution() is None
        True
    """
    return sharding.active()


@keras_export("keras.distribution.set_distribution")
def set_distribution(value):
    """Makes `value` (a `DataParallel`, a `ModelParallel`, or None) the active distribution:
    Variables created from now on take its layouts, and `fit`/`evaluate`/`predict` split
    batches along its data axis. Models built before keep their Variables where they are
    until they next train or predict with `fit`/`evaluate`/`predict`, which moves them to
    this distribution's layouts.

    Examples:
        >>> lamina.distribution.set_distribution(None)
    """
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(
            "set_distribution expects a keras.distribution.DataParallel or ModelParallel (or "
            f"None). Received: {value!r} of type {type(value).__name__}.")
    sharding.set_active(value)
