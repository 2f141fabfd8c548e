"""Compatibility namespaces for porting TensorFlow-era Keras code.

    from lamina.compat import tf
"""

from lamina.compat import tf as tf
