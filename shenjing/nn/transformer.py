"""The Transformer (Vaswani et al. 2017) as ``torch.nn.Transformer*``: encoder and decoder layers and stacks.

An encoder layer is attention then a position-wise MLP, each wrapped in a residual connection and a LayerNorm:

    post-norm (norm_first=False, the paper):   x = LN(x + SA(x)),       x = LN(x + FF(x))
    pre-norm  (norm_first=True, GPT/ViT):      x = x + SA(LN(x)),       x = x + FF(LN(x))
    FF(x) = W₂ f(W₁ x + b₁) + b₂ with f = ReLU or GELU, and dropout after SA, inside and after FF.

A decoder layer adds cross-attention to the encoder's output ("memory") between the two. The attention itself is
:class:`~shenjing.nn.attention.MultiheadAttention`, whose fused kernel states the softmax's backward.
Parameter names and order are PyTorch's, so state dicts load both ways.
"""

from __future__ import annotations

import copy
from typing import Any

from ..backend import get_default_dtype
from ..tensor import Tensor
from . import init
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .norm import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]


def _activation(activation: Any) -> tuple:
    """(callable, name) for "relu" | "gelu" | a callable."""
    from . import functional as F

    if callable(activation):
        return activation, getattr(activation, "__name__", type(activation).__name__)
    if activation == "relu":
        return F.relu, "relu"
    if activation == "gelu":
        gelu = getattr(F, "gelu", None)
        if gelu is None:
            raise RuntimeError("activation='gelu' needs nn.functional.gelu, which this build lacks")
        return gelu, "gelu"
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _check_d_model(where: str, d_model: int, nhead: int) -> None:
    if isinstance(d_model, bool) or not isinstance(d_model, int) or d_model <= 0:
        raise ValueError(f"{where}: d_model must be a positive int, got {d_model!r}")
    if isinstance(nhead, bool) or not isinstance(nhead, int) or nhead <= 0:
        raise ValueError(f"{where}: nhead must be a positive int, got {nhead!r}")
    if d_model % nhead:
        raise AssertionError(f"{where}: embed_dim must be divisible by num_heads, got d_model={d_model} and "
                             f"nhead={nhead}")


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward with residuals and LayerNorm, as ``torch.nn.TransformerEncoderLayer``.

    Args: d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu" (or "gelu", or a callable),
    layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True.
    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_d_model("TransformerEncoderLayer", d_model, nhead)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation, self._activation_name = _activation(activation)
        self._config = {"d_model": d_model, "nhead": nhead, "dim_feedforward": dim_feedforward, "dropout": dropout,
                        "activation": self._activation_name, "layer_norm_eps": layer_norm_eps,
                        "batch_first": batch_first, "norm_first": norm_first, "bias": bias}
        self._saveable = not callable(activation)

    def get_config(self) -> dict:
        if not self._saveable:
            raise NotImplementedError("an activation given as a callable cannot be saved by name; use 'relu' or "
                                      "'gelu'")
        return dict(self._config)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Masked self-attention, cross-attention to ``memory``, feed-forward; as ``torch.nn.TransformerDecoderLayer``.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_d_model("TransformerDecoderLayer", d_model, nhead)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                 **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)
        self.activation, self._activation_name = _activation(activation)
        self._config = {"d_model": d_model, "nhead": nhead, "dim_feedforward": dim_feedforward, "dropout": dropout,
                        "activation": self._activation_name, "layer_norm_eps": layer_norm_eps,
                        "batch_first": batch_first, "norm_first": norm_first, "bias": bias}
        self._saveable = not callable(activation)

    get_config = TransformerEncoderLayer.get_config

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(layer: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


def _layer_from(spec: Any, klass: type, where: str) -> Module:
    """A layer given as a module, or (from a model file) as its config dict."""
    if isinstance(spec, klass):
        return spec
    if isinstance(spec, dict):
        return klass(**spec)
    raise TypeError(f"{where}: expected a {klass.__name__} (or its config dict), got {type(spec).__name__}")


class _TransformerStack(Module):
    """What TransformerEncoder and TransformerDecoder share: ``num_layers`` deep copies of one layer (keys
    ``layers.0.…``, as PyTorch), an optional final ``norm``, and the config that rebuilds them."""

    _layer_class: type  # the layer it stacks
    _layer_key: str  # that layer's constructor argument, and config key

    def __init__(self, layer: Any, num_layers: int, norm: Any) -> None:
        super().__init__()
        where = type(self).__name__
        layer = _layer_from(layer, self._layer_class, where)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"{where}: num_layers must be a positive int, got {num_layers!r}")
        self.layers = _clones(layer, num_layers)
        self.num_layers = num_layers
        if isinstance(norm, dict):
            norm = LayerNorm(**norm)
        self.norm = norm

    def get_config(self) -> dict:
        norm = self.norm
        if norm is not None and not isinstance(norm, LayerNorm):
            raise NotImplementedError(f"only a LayerNorm (or no norm) can be saved as a {type(self).__name__}'s norm")
        return {self._layer_key: self.layers[0].get_config(), "num_layers": self.num_layers,
                "norm": None if norm is None else norm.get_config()}


class TransformerEncoder(_TransformerStack):
    """``num_layers`` copies of ``encoder_layer`` (deep copies, as PyTorch: keys ``layers.0.…``), then ``norm``."""

    _layer_class, _layer_key = TransformerEncoderLayer, "encoder_layer"

    def __init__(self, encoder_layer: Any, num_layers: int, norm: Any = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__(encoder_layer, num_layers, norm)

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(_TransformerStack):
    """``num_layers`` copies of ``decoder_layer``, then ``norm``; forward(tgt, memory, masks…) as PyTorch."""

    _layer_class, _layer_key = TransformerDecoderLayer, "decoder_layer"

    def __init__(self, decoder_layer: Any, num_layers: int, norm: Any = None) -> None:
        super().__init__(decoder_layer, num_layers, norm)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder Transformer, as ``torch.nn.Transformer`` (final LayerNorms on both stacks).

    Args: d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048, dropout=0.1,
    activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
    norm_first=False, bias=True. Weights with more than one dimension are re-initialised Xavier-uniform.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: Any = "relu",
                 custom_encoder: Any = None, custom_decoder: Any = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(*args, **kw), num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                                                **kw))
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(*args, **kw), num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                                                **kw))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        self._config = {"d_model": d_model, "nhead": nhead, "num_encoder_layers": num_encoder_layers,
                        "num_decoder_layers": num_decoder_layers, "dim_feedforward": dim_feedforward,
                        "dropout": dropout, "activation": activation if isinstance(activation, str) else None,
                        "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
                        "bias": bias}
        self._saveable = isinstance(activation, str) and custom_encoder is None and custom_decoder is None
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def get_config(self) -> dict:
        if not self._saveable:
            raise NotImplementedError("a Transformer with a callable activation or custom encoder/decoder cannot be "
                                      "saved by name")
        return dict(self._config)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None, memory_mask: Any = None,
                src_key_padding_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError(f"the batch number of src and tgt must be equal, got src {tuple(src.shape)} and tgt "
                               f"{tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model={self.d_model}, got "
                               f"src {tuple(src.shape)} and tgt {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A float (sz, sz) mask: 0 on and below the diagonal, −∞ above (position i may attend to j ≤ i)."""
        from ..creation import full

        return full((sz, sz), float("-inf"), dtype=dtype or get_default_dtype(), device=device).triu(1)
