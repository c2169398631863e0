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
