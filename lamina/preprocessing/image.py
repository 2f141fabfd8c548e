"""`keras.preprocessing.image`: image files to and from NumPy arrays (`keras.utils`'s
`load_img`, `save_img`, `img_to_array`, `array_to_img`) and `smart_resize`."""

from lamina.utils.image_dataset import smart_resize as smart_resize
from lamina.utils.image_utils import array_to_img as array_to_img
from lamina.utils.image_utils import img_to_array as img_to_array
from lamina.utils.image_utils import load_img as load_img
from lamina.utils.image_utils import save_img as save_img
