"""`keras.distribution`: data and model parallelism on `jax.sharding`, from one device to many
hosts (see docs/scaling-out.md).

    distribution = keras.distribution.DataParallel()          # every device, batch split
    keras.distribution.set_distribution(distribution)         # or: with distribution.scope():
    model = make_model()                                      # Variables created with layouts
    model.fit(x, y, batch_size=64)                            # batches split along "batch"
"""

from lamina.distribution.distribution_lib import DataParallel as DataParallel
from lamina.distribution.distribution_lib import DeviceMesh as DeviceMesh
from lamina.distribution.distribution_lib import LayoutMap as LayoutMap
from lamina.distribution.distribution_lib import ModelParallel as ModelParallel
from lamina.distribution.distribution_lib import TensorLayout as TensorLayout
from lamina.distribution.distribution_lib import distribute_tensor as distribute_tensor
from lamina.distribution.distribution_lib import distribution as distribution
from lamina.distribution.distribution_lib import get_device_count as get_device_count
from lamina.distribution.distribution_lib import initialize as initialize
from lamina.distribution.distribution_lib import list_devices as list_devices
from lamina.distribution.distribution_lib import set_distribution as set_distribution

__all__ = [
    "DataParallel", "DeviceMesh", "LayoutMap", "ModelParallel", "TensorLayout",
    "distribute_tensor", "distribution", "get_device_count", "initialize", "list_devices",
    "set_distribution",
]
