"""keras.distribution's objects on this process's one device: names, lookups, errors, and
a DataParallel run that must equal the plain one (the multi-device runs are in
test_multi_device.py and test_multi_process.py)."""

import jax
import numpy as np
import pytest

import lamina as keras
from lamina import distribution as dist


@pytest.fixture(autouse=True)
def _no_distribution_after():
    yield
    dist.set_distribution(None)


@pytest.fixture
def mesh():
    return dist.DeviceMesh((1, 1), ("batch", "model"), devices=dist.list_devices())


def test_devices_are_listed_as_type_and_id():
    devices = dist.list_devices()
    assert devices == [f"{d.platform}:{d.id}" for d in jax.devices()]
    assert dist.get_device_count() == len(devices) == dist.get_device_count("cpu")


def test_unknown_device_type_names_what_there_is():
    with pytest.raises(ValueError, match=r"no devices of type 'tpu'.*available types: \['cpu'\]"):
        dist.list_devices("tpu")


def test_layout_map_matches_whole_paths_by_regex_and_fills_in_its_mesh(mesh):
    layout_map = dist.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = dist.TensorLayout(("model",))
    assert layout_map["model/dense_3/kernel"].axes == (None, "model")
    assert layout_map["model/dense_3/kernel"].device_mesh is mesh
    assert layout_map["dense/bias"].device_mesh is mesh
    assert layout_map["model/dense_3/kernel_momentum"] is None  # fullmatch, not search
    assert layout_map["conv2d/kernel"] is None
    assert len(layout_map) == 2 and list(layout_map) == [".*dense.*kernel", ".*dense.*bias"]


def test_layout_map_refuses_ambiguous_paths_duplicate_keys_and_non_layouts(mesh):
    layout_map = dist.LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    layout_map["dense.*"] = (None, None)
    with pytest.raises(ValueError, match=r"'dense/kernel' matches several LayoutMap keys"):
        layout_map["dense/kernel"]
    with pytest.raises(ValueError, match="already set"):
        layout_map[".*kernel"] = ("model", None)
    with pytest.raises(ValueError, match="TensorLayout or a tuple"):
        layout_map["x"] = "model"
    with pytest.raises(ValueError, match="not a valid regular expression"):
        layout_map["(unclosed"] = (None,)


def test_mesh_and_layout_arguments_are_checked(mesh):
    with pytest.raises(ValueError, match="same length"):
        dist.DeviceMesh((1,), ("batch", "model"))
    with pytest.raises(ValueError, match="must not be empty"):
        dist.DeviceMesh((), ())
    with pytest.raises(ValueError, match=r"axis names \['data'\] are not axes of the mesh"):
        dist.TensorLayout(("data", None), mesh)
    with pytest.raises(ValueError, match="already has a device mesh"):
        dist.TensorLayout((None,), mesh).device_mesh = mesh
    with pytest.raises(ValueError, match="LayoutMap"):
        dist.ModelParallel(layout_map={"a": (None,)})
    with pytest.raises(ValueError, match="DataParallel or ModelParallel"):
        dist.set_distribution("data_parallel")


def test_data_parallel_defaults_to_a_batch_axis_over_all_devices():
    distribution = dist.DataParallel()
    assert distribution.device_mesh.axis_names == ["batch"]
    assert distribution.batch_dim_name == "batch"
    assert distribution.num_model_replicas == dist.get_device_count()
    layout = distribution.get_data_layout((16, 3))
    assert layout.axes == ("batch", None)


def test_scope_sets_and_restores_the_distribution():
    distribution = dist.DataParallel()
    assert dist.distribution() is None
    with distribution.scope():
        assert dist.distribution() is distribution
        variable = keras.Variable(np.ones((2, 3)), name="w")
    assert dist.distribution() is None
    assert isinstance(variable.value.sharding, jax.sharding.NamedSharding)
    variable.assign(np.zeros((2, 3)))  # an assigned value keeps the layout
    assert isinstance(variable.value.sharding, jax.sharding.NamedSharding)


def test_distribute_tensor_moves_or_constrains(mesh):
    layout = dist.TensorLayout(("batch", None), mesh)
    moved = dist.distribute_tensor(np.ones((2, 3)), layout)
    assert moved.sharding.spec == jax.sharding.PartitionSpec("batch", None)
    traced = jax.jit(lambda a: dist.distribute_tensor(a * 2, layout))(np.ones((2, 3)))
    np.testing.assert_array_equal(traced, np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match=r"does not fit the tensor of shape \(3,\)"):
        dist.distribute_tensor(np.ones(3), layout)


def test_data_parallel_on_one_device_trains_exactly_as_without():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def train():
        keras.utils.set_random_seed(5)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"], model

    plain_loss, plain = train()
    with dist.DataParallel().scope():
        dp_loss, dp = train()
    assert dp_loss == plain_loss
    for a, b in zip(plain.get_weights(), dp.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_variables_created_while_tracing_take_the_layout():
    # A layer built lazily by the first trace of fit or keras.function, and metric totals
    # built while the step is traced: created for real, in the distribution's layout.
    with dist.DataParallel().scope():
        model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), batch_size=4,
                  verbose=0)
        dense = keras.layers.Dense(2)
        outputs = keras.function(lambda x: dense(x))(np.ones((4, 3), "float32"))
    assert outputs.shape == (4, 2)
    for variable in model.variables + [dense.kernel]:
        assert isinstance(variable.value.sharding, jax.sharding.NamedSharding), variable.path
