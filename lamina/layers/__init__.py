"""`keras.layers`: the Layer protocol and the built-in layers."""

from lamina.layers.core import Activation as Activation
from lamina.layers.core import Dense as Dense
from lamina.layers.core import EinsumDense as EinsumDense
from lamina.layers.core import Embedding as Embedding
from lamina.layers.core import Identity as Identity
from lamina.layers.core import Input as Input
from lamina.layers.core import InputLayer as InputLayer
from lamina.layers.input_spec import InputSpec as InputSpec
from lamina.layers.lambda_layer import Lambda as Lambda
from lamina.layers.layer import Layer as Layer
