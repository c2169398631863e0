"""``shenjing.nn``: layers, activations, losses and containers, PyTorch-shaped (an index only)."""

from ..registry import register_module  # names custom layers for model files
from . import (
    functional,
    init,
    utils,  # gradient clipping, as torch.nn.utils
)
from .activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softmax2d, Softplus, Step, Tanh
from .attention import KVCache, MultiheadAttention
from .containers import DataParallel, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding, EmbeddingBag
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HalfSquaredErrorLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Buffer, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "ELU", "Flatten", "HalfSquaredErrorLoss",
    "Identity", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList",
    "ParameterList", "ParameterDict", "DataParallel",
    "NLLLoss", "Parameter", "Buffer", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softmax2d", "Softplus", "Step", "Tanh",
    "Unflatten", "functional", "init",
]
__all__ += ["register_module", "utils"]
__all__ += [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Dropout2d", "LayerNorm",
    "MaxPool1d", "MaxPool2d",
]
__all__ += ["Embedding", "EmbeddingBag", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]
__all__ += ["KVCache", "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]
__all__ += ["ConvTranspose1d", "ConvTranspose2d"]
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .loss_extra import (  # noqa: E402
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)

__all__ += [
    "CosineEmbeddingLoss", "CosineSimilarity", "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss",
    "MarginRankingLoss", "MultiLabelSoftMarginLoss", "PairwiseDistance", "PoissonNLLLoss", "SmoothL1Loss",
    "SoftMarginLoss", "TripletMarginLoss", "MultiMarginLoss", "TripletMarginWithDistanceLoss",
]
from .activation_extra import (  # noqa: E402
    CELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    RReLU,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)

__all__ += [
    "CELU", "GELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "Mish", "PReLU",
    "ReLU6", "RReLU", "SELU", "Softmin", "Softshrink", "Softsign", "Tanhshrink", "Threshold",
]
from .norm_extra import GroupNorm, InstanceNorm1d, InstanceNorm2d, LocalResponseNorm, RMSNorm  # noqa: E402
from .one_d import AdaptiveAvgPool1d, AvgPool1d, Dropout1d  # noqa: E402
from .padding import (  # noqa: E402
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
)

__all__ += [
    "AdaptiveAvgPool1d", "AvgPool1d", "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "Dropout1d",
    "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "RMSNorm", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d",
]
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402

__all__ += ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
from .lp_pool import LPPool1d, LPPool2d  # noqa: E402
from .shuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle  # noqa: E402

__all__ += ["ChannelShuffle", "LPPool1d", "LPPool2d", "LocalResponseNorm", "PixelShuffle", "PixelUnshuffle"]
from .alpha_dropout import AlphaDropout, FeatureAlphaDropout  # noqa: E402
from .bilinear import Bilinear  # noqa: E402

__all__ += ["AlphaDropout", "Bilinear", "FeatureAlphaDropout"]
from .adaptive_max import AdaptiveMaxPool1d, AdaptiveMaxPool2d  # noqa: E402

__all__ += ["AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
from .fold import Fold, Unfold  # noqa: E402

__all__ += ["Fold", "Unfold"]
from . import parallel  # noqa: E402,F401  (nn.parallel.DistributedDataParallel)
from .lazy import (  # noqa: E402
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
    LazyLinear,
    LazyModuleMixin,
    UninitializedBuffer,
    UninitializedParameter,
)
from .sync_batchnorm import SyncBatchNorm  # noqa: E402,F401

__all__ += ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d",
            "LazyConvTranspose2d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyLinear", "LazyModuleMixin",
            "LazyBatchNorm3d", "LazyConv3d", "LazyConvTranspose3d", "LazyInstanceNorm3d",
            "UninitializedBuffer", "UninitializedParameter"]
from .unpooling import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d  # noqa: E402

__all__ += ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]
from .three_d import (  # noqa: E402
    AdaptiveAvgPool3d,
    AvgPool3d,
    BatchNorm3d,
    Conv3d,
    ConvTranspose3d,
    Dropout3d,
    InstanceNorm3d,
    MaxPool3d,
)

__all__ += ["AdaptiveAvgPool3d", "AvgPool3d", "BatchNorm3d", "Conv3d", "ConvTranspose3d", "Dropout3d", "InstanceNorm3d",
            "MaxPool3d"]
from .ctc import CTCLoss  # noqa: E402

__all__ += ["CTCLoss"]
