"""`keras.preprocessing`: Keras 3's older home of the data-loading helpers, kept as aliases.

Every name here is the `keras.utils` function of the same name (`image`, `sequence`: the
`keras.preprocessing.image` and `.sequence` namespaces); code written against it ports by
changing the import.
"""

from lamina.preprocessing import image as image
from lamina.preprocessing import sequence as sequence
from lamina.utils.image_dataset import image_dataset_from_directory as image_dataset_from_directory
from lamina.utils.text_dataset import text_dataset_from_directory as text_dataset_from_directory
from lamina.utils.timeseries_dataset import (
    timeseries_dataset_from_array as timeseries_dataset_from_array,
)
