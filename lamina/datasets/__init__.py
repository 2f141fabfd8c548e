"""`keras.datasets`: small classic datasets, downloaded once into the Keras cache.

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

Each loader fetches its file with `keras.utils.get_file` from the same URL, under the same name
and with the same hash as Keras 3, so a `~/.keras/datasets` folder filled by Keras is reused and
nothing is downloaded again. Offline, place the file where the error message says.
"""

from lamina.datasets import boston_housing as boston_housing
from lamina.datasets import california_housing as california_housing
from lamina.datasets import cifar10 as cifar10
from lamina.datasets import cifar100 as cifar100
from lamina.datasets import fashion_mnist as fashion_mnist
from lamina.datasets import imdb as imdb
from lamina.datasets import mnist as mnist
from lamina.datasets import reuters as reuters
