"""``shenjing.nn.functional``: the functional form of every layer, activation and loss (an index only)."""

from .activation import (
    elu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    step,
    tanh,
)
from .conv import conv1d, conv2d
from ..functions import one_hot  # noqa: F401 - issue 9 (ops helper): F.one_hot, defined with the other index ops
from .dropout import dropout, dropout2d
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    half_squared_error,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .norm import batch_norm, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool1d, max_pool2d

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "elu",
    "half_squared_error", "l1_loss", "leaky_relu", "linear", "log_softmax", "mse_loss", "nll_loss", "relu",
    "sigmoid", "silu", "softmax", "softplus", "step", "tanh",
]
__all__ += [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv1d", "conv2d", "dropout2d", "layer_norm", "max_pool1d",
    "max_pool2d",
]

# -- sequences and attention (nn/embedding.py, nn/attention.py) ---------------------------------------------------
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402
from .embedding import embedding, embedding_bag  # noqa: E402
from .conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: E402

__all__ += ["conv_transpose1d", "conv_transpose2d", "embedding", "embedding_bag", "multi_head_attention_forward", "scaled_dot_product_attention"]
from .distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402
from .loss_extra import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    multi_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ += [
    "cosine_embedding_loss", "cosine_similarity", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
    "margin_ranking_loss", "multilabel_soft_margin_loss", "normalize", "pairwise_distance", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
    "triplet_margin_with_distance_loss",
]
from .activation_extra import (  # noqa: E402
    celu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    prelu,
    relu6,
    rrelu,
    selu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)

__all__ += [
    "celu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "prelu",
    "relu6", "rrelu", "selu", "softmin", "softshrink", "softsign", "tanhshrink", "threshold",
]
from .norm_extra import group_norm, instance_norm, local_response_norm, rms_norm  # noqa: E402
from .one_d import adaptive_avg_pool1d, avg_pool1d, dropout1d  # noqa: E402
from .padding import pad  # noqa: E402

__all__ += ["adaptive_avg_pool1d", "avg_pool1d", "dropout1d", "group_norm", "instance_norm", "pad", "rms_norm"]
from .upsampling import interpolate, upsample, upsample_bilinear, upsample_nearest  # noqa: E402
from .grid_sample import affine_grid, grid_sample  # noqa: E402
from .pooling import max_pool1d_with_indices, max_pool2d_with_indices  # noqa: E402
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: E402
from .three_d import adaptive_avg_pool3d, avg_pool3d, conv3d, conv_transpose3d, dropout3d, max_pool3d  # noqa: E402
from .cdist import pdist  # noqa: E402
from .ctc import ctc_loss  # noqa: E402

__all__ += ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest", "affine_grid", "grid_sample",
            "max_pool1d_with_indices", "max_pool2d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
            "adaptive_avg_pool3d", "avg_pool3d", "conv3d", "conv_transpose3d", "dropout3d", "max_pool3d", "pdist",
            "ctc_loss"]
from .lp_pool import lp_pool1d, lp_pool2d  # noqa: E402
from .shuffle import channel_shuffle, native_channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: E402

__all__ += ["channel_shuffle", "local_response_norm", "lp_pool1d", "lp_pool2d", "native_channel_shuffle",
            "pixel_shuffle", "pixel_unshuffle"]
from .alpha_dropout import alpha_dropout, feature_alpha_dropout  # noqa: E402
from .bilinear import bilinear  # noqa: E402

__all__ += ["alpha_dropout", "bilinear", "feature_alpha_dropout"]
from .adaptive_max import adaptive_max_pool1d, adaptive_max_pool2d  # noqa: E402

__all__ += ["adaptive_max_pool1d", "adaptive_max_pool2d"]
from .fold import fold, unfold  # noqa: E402

__all__ += ["fold", "unfold"]
__all__ += ["one_hot"]
from .functional_extra import celu_, elu_, gumbel_softmax, hardtanh_, leaky_relu_, relu_, rrelu_  # noqa: E402
from .functional_extra import selu_, threshold_  # noqa: E402

__all__ += ["celu_", "elu_", "gumbel_softmax", "hardtanh_", "leaky_relu_", "relu_", "rrelu_", "selu_", "threshold_"]
