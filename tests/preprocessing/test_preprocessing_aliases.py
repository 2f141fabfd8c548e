"""keras.preprocessing: Keras 3.15's aliases of keras.utils functions, plus smart_resize."""

import numpy as np
import pytest

import lamina as keras

# dir() of keras.preprocessing, .image and .sequence in Keras 3.15.
KERAS_NAMES = {
    "": ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory",
         "timeseries_dataset_from_array"],
    "image": ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"],
    "sequence": ["pad_sequences"],
}


@pytest.mark.parametrize("namespace", sorted(KERAS_NAMES))
def test_the_names_are_keras_and_alias_utils(namespace):
    module = keras.preprocessing if not namespace else getattr(keras.preprocessing, namespace)
    assert sorted(n for n in dir(module) if not n.startswith("_")) == KERAS_NAMES[namespace]
    for name in KERAS_NAMES[namespace]:
        if hasattr(keras.utils, name):
            assert getattr(module, name) is getattr(keras.utils, name)


def test_smart_resize_crops_the_centre_to_the_aspect_ratio():
    image = np.arange(4 * 8, dtype=np.float32).reshape(4, 8, 1)
    # The centre 4x4 window (columns 2..5), then nearest resizing to 2x2.
    out = keras.preprocessing.image.smart_resize(image, (2, 2), interpolation="nearest")
    assert np.asarray(out)[:, :, 0].tolist() == [[11.0, 13.0], [27.0, 29.0]]
    batch = keras.preprocessing.image.smart_resize(np.ones((3, 5, 7, 2)), (4, 4))
    assert batch.shape == (3, 4, 4, 2)
    with pytest.raises(ValueError, match=r"incorrect rank, of shape \(5,\)"):
        keras.preprocessing.image.smart_resize(np.ones(5), (2, 2))
