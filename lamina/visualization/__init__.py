"""`keras.visualization`: looking at images, bounding boxes and segmentation masks.

`draw_bounding_boxes` and `draw_segmentation_masks` return annotated NumPy images; the
`plot_*_gallery` functions lay images out in a matplotlib grid, saved to a file or shown.
matplotlib is optional (`pip install "lamina[visualization]"`) and imported only to plot.
"""

from lamina.visualization.draw import draw_bounding_boxes as draw_bounding_boxes
from lamina.visualization.draw import draw_segmentation_masks as draw_segmentation_masks
from lamina.visualization.gallery import (
    plot_bounding_box_gallery as plot_bounding_box_gallery,
)
from lamina.visualization.gallery import plot_image_gallery as plot_image_gallery
from lamina.visualization.gallery import (
    plot_segmentation_mask_gallery as plot_segmentation_mask_gallery,
)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
           "plot_image_gallery", "plot_segmentation_mask_gallery"]
