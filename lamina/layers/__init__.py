"""`keras.layers`: the Layer protocol and the built-in layers."""

from lamina.layers.core import Activation as Activation
from lamina.layers.core import Dense as Dense
from lamina.layers.core import EinsumDense as EinsumDense
from lamina.layers.core import Embedding as Embedding
from lamina.layers.core import Identity as Identity
from lamina.layers.core import Input as Input
from lamina.layers.core import InputLayer as InputLayer
from lamina.layers.core import Masking as Masking
from lamina.layers.input_spec import InputSpec as InputSpec
from lamina.layers.lambda_layer import Lambda as Lambda
from lamina.layers.jax_layer import FlaxLayer as FlaxLayer
from lamina.layers.jax_layer import JaxLayer as JaxLayer
from lamina.layers.layer import Layer as Layer
from lamina.layers.reversible_embedding import ReversibleEmbedding as ReversibleEmbedding
from lamina.layers.serialization import deserialize as deserialize
from lamina.layers.serialization import serialize as serialize
from lamina.layers import symbolic_ops as _symbolic_ops  # noqa: F401  (operators on KerasTensor)

# Convolution, pooling, padding, cropping and upsampling (with Keras 3's aliases).
from lamina.layers.convolution import Conv1D as Conv1D
from lamina.layers.convolution import Conv1D as Convolution1D
from lamina.layers.convolution import Conv1DTranspose as Conv1DTranspose
from lamina.layers.convolution import Conv1DTranspose as Convolution1DTranspose
from lamina.layers.convolution import Conv2D as Conv2D
from lamina.layers.convolution import Conv2D as Convolution2D
from lamina.layers.convolution import Conv2DTranspose as Conv2DTranspose
from lamina.layers.convolution import Conv2DTranspose as Convolution2DTranspose
from lamina.layers.convolution import Conv3D as Conv3D
from lamina.layers.convolution import Conv3D as Convolution3D
from lamina.layers.convolution import Conv3DTranspose as Conv3DTranspose
from lamina.layers.convolution import Conv3DTranspose as Convolution3DTranspose
from lamina.layers.adaptive_pooling import AdaptiveAveragePooling1D as AdaptiveAveragePooling1D
from lamina.layers.adaptive_pooling import AdaptiveAveragePooling2D as AdaptiveAveragePooling2D
from lamina.layers.adaptive_pooling import AdaptiveAveragePooling3D as AdaptiveAveragePooling3D
from lamina.layers.adaptive_pooling import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
from lamina.layers.adaptive_pooling import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
from lamina.layers.adaptive_pooling import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
from lamina.layers.pooling import AveragePooling1D as AveragePooling1D
from lamina.layers.pooling import AveragePooling1D as AvgPool1D
from lamina.layers.pooling import AveragePooling2D as AveragePooling2D
from lamina.layers.pooling import AveragePooling2D as AvgPool2D
from lamina.layers.pooling import AveragePooling3D as AveragePooling3D
from lamina.layers.pooling import AveragePooling3D as AvgPool3D
from lamina.layers.pooling import GlobalAveragePooling1D as GlobalAveragePooling1D
from lamina.layers.pooling import GlobalAveragePooling1D as GlobalAvgPool1D
from lamina.layers.pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
from lamina.layers.pooling import GlobalAveragePooling2D as GlobalAvgPool2D
from lamina.layers.pooling import GlobalAveragePooling3D as GlobalAveragePooling3D
from lamina.layers.pooling import GlobalAveragePooling3D as GlobalAvgPool3D
from lamina.layers.pooling import GlobalMaxPooling1D as GlobalMaxPool1D
from lamina.layers.pooling import GlobalMaxPooling1D as GlobalMaxPooling1D
from lamina.layers.pooling import GlobalMaxPooling2D as GlobalMaxPool2D
from lamina.layers.pooling import GlobalMaxPooling2D as GlobalMaxPooling2D
from lamina.layers.pooling import GlobalMaxPooling3D as GlobalMaxPool3D
from lamina.layers.pooling import GlobalMaxPooling3D as GlobalMaxPooling3D
from lamina.layers.pooling import MaxPooling1D as MaxPool1D
from lamina.layers.pooling import MaxPooling1D as MaxPooling1D
from lamina.layers.pooling import MaxPooling2D as MaxPool2D
from lamina.layers.pooling import MaxPooling2D as MaxPooling2D
from lamina.layers.pooling import MaxPooling3D as MaxPool3D
from lamina.layers.pooling import MaxPooling3D as MaxPooling3D
from lamina.layers.separable_convolution import DepthwiseConv1D as DepthwiseConv1D
from lamina.layers.separable_convolution import DepthwiseConv2D as DepthwiseConv2D
from lamina.layers.separable_convolution import SeparableConv1D as SeparableConv1D
from lamina.layers.separable_convolution import SeparableConv1D as SeparableConvolution1D
from lamina.layers.separable_convolution import SeparableConv2D as SeparableConv2D
from lamina.layers.separable_convolution import SeparableConv2D as SeparableConvolution2D
from lamina.layers.spatial import Cropping1D as Cropping1D
from lamina.layers.spatial import Cropping2D as Cropping2D
from lamina.layers.spatial import Cropping3D as Cropping3D
from lamina.layers.spatial import UpSampling1D as UpSampling1D
from lamina.layers.spatial import UpSampling2D as UpSampling2D
from lamina.layers.spatial import UpSampling3D as UpSampling3D
from lamina.layers.spatial import ZeroPadding1D as ZeroPadding1D
from lamina.layers.spatial import ZeroPadding2D as ZeroPadding2D
from lamina.layers.spatial import ZeroPadding3D as ZeroPadding3D

# Recurrent layers and cells, wrappers, attention.
from lamina.layers.attention import AdditiveAttention as AdditiveAttention
from lamina.layers.attention import Attention as Attention
from lamina.layers.attention import MultiHeadAttention as MultiHeadAttention
from lamina.layers.group_query_attention import GroupQueryAttention as GroupQueryAttention
from lamina.layers.cells import GRUCell as GRUCell
from lamina.layers.cells import LSTMCell as LSTMCell
from lamina.layers.cells import SimpleRNNCell as SimpleRNNCell
from lamina.layers.cells import StackedRNNCells as StackedRNNCells
from lamina.layers.conv_lstm import ConvLSTM1D as ConvLSTM1D
from lamina.layers.conv_lstm import ConvLSTM2D as ConvLSTM2D
from lamina.layers.conv_lstm import ConvLSTM3D as ConvLSTM3D
from lamina.layers.rnn import GRU as GRU
from lamina.layers.rnn import LSTM as LSTM
from lamina.layers.rnn import RNN as RNN
from lamina.layers.rnn import SimpleRNN as SimpleRNN
from lamina.layers.wrappers import Bidirectional as Bidirectional
from lamina.layers.wrappers import TimeDistributed as TimeDistributed
from lamina.layers.wrappers import Wrapper as Wrapper

# Normalization, regularization, reshaping, merging, activation and numeric preprocessing.
from lamina.layers.activation_layers import ELU as ELU
from lamina.layers.activation_layers import LeakyReLU as LeakyReLU
from lamina.layers.activation_layers import PReLU as PReLU
from lamina.layers.activation_layers import ReLU as ReLU
from lamina.layers.activation_layers import Softmax as Softmax
from lamina.layers.merging import Add as Add
from lamina.layers.merging import Average as Average
from lamina.layers.merging import Concatenate as Concatenate
from lamina.layers.merging import Dot as Dot
from lamina.layers.merging import Maximum as Maximum
from lamina.layers.merging import Minimum as Minimum
from lamina.layers.merging import Multiply as Multiply
from lamina.layers.merging import Subtract as Subtract
from lamina.layers.merging import add as add
from lamina.layers.merging import average as average
from lamina.layers.merging import concatenate as concatenate
from lamina.layers.merging import dot as dot
from lamina.layers.merging import maximum as maximum
from lamina.layers.merging import minimum as minimum
from lamina.layers.merging import multiply as multiply
from lamina.layers.merging import subtract as subtract
from lamina.layers.normalization import BatchNormalization as BatchNormalization
from lamina.layers.normalization import GroupNormalization as GroupNormalization
from lamina.layers.normalization import LayerNormalization as LayerNormalization
from lamina.layers.normalization import RMSNormalization as RMSNormalization
from lamina.layers.spectral_normalization import SpectralNormalization as SpectralNormalization
from lamina.layers.normalization import UnitNormalization as UnitNormalization
from lamina.layers.preprocessing import Normalization as Normalization
from lamina.layers.preprocessing import Rescaling as Rescaling
from lamina.layers.preprocessing.audio import MelSpectrogram as MelSpectrogram
from lamina.layers.preprocessing.audio import STFTSpectrogram as STFTSpectrogram
# Image resizing and geometric augmentation; Pipeline chains preprocessing layers.
from lamina.layers.preprocessing.image import CenterCrop as CenterCrop
from lamina.layers.preprocessing.image import MaxNumBoundingBoxes as MaxNumBoundingBoxes
from lamina.layers.preprocessing.image import RandomCrop as RandomCrop
from lamina.layers.preprocessing.image import RandomElasticTransform as RandomElasticTransform
from lamina.layers.preprocessing.image import RandomFlip as RandomFlip
from lamina.layers.preprocessing.image import RandomPerspective as RandomPerspective
from lamina.layers.preprocessing.image import RandomRotation as RandomRotation
from lamina.layers.preprocessing.image import RandomShear as RandomShear
from lamina.layers.preprocessing.image import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.image import RandomZoom as RandomZoom
from lamina.layers.preprocessing.image import Resizing as Resizing
from lamina.layers.preprocessing.pipeline import Pipeline as Pipeline
# Text and categorical preprocessing (string layers run on the host: preprocessing/host.py).
from lamina.layers.preprocessing import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing import Discretization as Discretization
from lamina.layers.preprocessing import HashedCrossing as HashedCrossing
from lamina.layers.preprocessing import Hashing as Hashing
from lamina.layers.preprocessing import IntegerLookup as IntegerLookup
from lamina.layers.preprocessing import StringLookup as StringLookup
from lamina.layers.preprocessing import TextVectorization as TextVectorization
# Image augmentation: colour, intensity, histogram and mixing layers.
from lamina.layers.preprocessing.image.color import RandomBrightness as RandomBrightness
from lamina.layers.preprocessing.image.color import (
    RandomColorDegeneration as RandomColorDegeneration,
)
from lamina.layers.preprocessing.image.color import RandomColorJitter as RandomColorJitter
from lamina.layers.preprocessing.image.color import RandomContrast as RandomContrast
from lamina.layers.preprocessing.image.color import RandomGrayscale as RandomGrayscale
from lamina.layers.preprocessing.image.color import RandomHue as RandomHue
from lamina.layers.preprocessing.image.color import RandomInvert as RandomInvert
from lamina.layers.preprocessing.image.color import RandomSaturation as RandomSaturation
from lamina.layers.preprocessing.image.histogram import (
    ContrastLimitedAdaptiveHistogramEqualization as ContrastLimitedAdaptiveHistogramEqualization,
)
from lamina.layers.preprocessing.image.histogram import Equalization as Equalization
from lamina.layers.preprocessing.image.intensity import AutoContrast as AutoContrast
from lamina.layers.preprocessing.image.intensity import RandomErasing as RandomErasing
from lamina.layers.preprocessing.image.intensity import RandomGaussianBlur as RandomGaussianBlur
from lamina.layers.preprocessing.image.intensity import (
    RandomPosterization as RandomPosterization,
)
from lamina.layers.preprocessing.image.intensity import RandomSharpness as RandomSharpness
from lamina.layers.preprocessing.image.intensity import Solarization as Solarization
from lamina.layers.preprocessing.image.mixing import CutMix as CutMix
from lamina.layers.preprocessing.image.mixing import MixUp as MixUp
from lamina.layers.preprocessing.image.rand_augment import AugMix as AugMix
from lamina.layers.preprocessing.image.rand_augment import RandAugment as RandAugment
from lamina.layers.regularization import ActivityRegularization as ActivityRegularization
from lamina.layers.regularization import AlphaDropout as AlphaDropout
from lamina.layers.regularization import Dropout as Dropout
from lamina.layers.regularization import GaussianDropout as GaussianDropout
from lamina.layers.regularization import GaussianNoise as GaussianNoise
from lamina.layers.regularization import SpatialDropout1D as SpatialDropout1D
from lamina.layers.regularization import SpatialDropout2D as SpatialDropout2D
from lamina.layers.regularization import SpatialDropout3D as SpatialDropout3D
from lamina.layers.reshaping import Flatten as Flatten
from lamina.layers.reshaping import Permute as Permute
from lamina.layers.reshaping import RepeatVector as RepeatVector
from lamina.layers.reshaping import Reshape as Reshape
