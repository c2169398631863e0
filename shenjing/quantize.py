"""Post-training int8 quantization: per-channel int8 weights, dynamic activations (Linear), calibrated static (Conv).

    qmodel = shenjing.quantize.quantize_dynamic(model)                  # Linear → QuantizedLinear
    qmodel = shenjing.quantize.quantize_static(model, calibration_batches)  # Conv2d/Conv1d (and Linear) → Quantized*
    shenjing.save(qmodel, "q.safetensors")      # int8 weights: about 4× smaller; shenjing.load rebuilds it
    shenjing.onnx.export(qmodel, x, "q.onnx")   # MatMulInteger / ConvInteger (quant_format="QDQ": Q/DQ pairs)

    qat = shenjing.quantize.prepare_qat(model, calibration_batches)   # quantization-aware fine-tuning:
    ... train qat as usual (fake quantization, straight-through gradients) ...
    qmodel = shenjing.quantize.convert(qat)                            # → the same int8 layers

The scheme (the one onnxruntime's dynamic quantization uses, so exported models agree with ours):

* weights: symmetric per output channel, W ≈ s_w[o]·W_q[o], W_q = round(W / s_w) ∈ [−127, 127] int8,
  s_w[o] = max|W[o]| / 127;
* activations: asymmetric per tensor, uint8, x ≈ s_x·(x_q − z_x), x_q = clip(round(x / s_x) + z_x, 0, 255):
  - dynamic (QuantizedLinear): s_x = (max(0, max x) − min(0, min x)) / 255 and z_x = round(−min(0, min x)/s_x),
    from each batch as it comes (as ``DynamicQuantizeLinear``);
  - static (QuantizedConv*): s_x, z_x fixed from the range the calibration batches showed;
* y = s_x·s_w[o] · Σ (x_q − z_x)·W_q[o] + b[o]: the integer products are summed in float32 (exact up to 2²⁴, i.e. for
  inner sizes up to ≈ 500, and within float32 rounding beyond: NumPy has no int8 GEMM), the bias stays float32.

Quantized layers are for inference (no gradients); QAT layers train through :class:`FakeQuantizeFunction`. Accuracy and size are measured in benchmarks/bench_deploy.py.
"""

from __future__ import annotations

import copy
from typing import Any

from .autograd import Function
from .backend import backend_of, get_backend
from .nn.module import Module
from .registry import register_module
from .tensor import Tensor

__all__ = [
    "QuantizedLinear",
    "QuantizedConv2d",
    "QuantizedConv1d",
    "quantize_dynamic",
    "quantize_static",
    "quantize_weight",
    "dynamic_qparams",
    "model_size_bytes",
    "FakeQuantizeFunction",
    "fake_quantize",
    "QATLinear",
    "QATConv2d",
    "prepare_qat",
    "convert",
]

QMIN, QMAX = -127, 127  # int8 weights, symmetric (−128 unused so that −W_q is representable)


def quantize_weight(xp: Any, w: Any) -> tuple[Any, Any]:
    """(W_q int8, s_w float32 per output channel) with W ≈ s_w[o]·W_q[o] (axis 0 is the output channel)."""
    flat = w.reshape(w.shape[0], -1)
    scale = xp.abs(flat).max(axis=1) / QMAX
    scale = xp.where(scale > 0, scale, 1.0).astype("float32")
    q = xp.clip(xp.rint(flat / scale[:, None]), QMIN, QMAX).astype("int8")
    return q.reshape(w.shape), scale


def dynamic_qparams(xp: Any, x: Any) -> tuple[Any, Any]:
    """(s_x, z_x) as ``DynamicQuantizeLinear``: the range [min(0, min x), max(0, max x)] onto uint8 0…255."""
    low = xp.minimum(x.min(), 0.0)
    high = xp.maximum(x.max(), 0.0)
    scale = ((high - low) / 255.0).astype("float32")
    scale = xp.where(scale > 0, scale, xp.float32(1.0)).astype("float32")
    zero = xp.clip(xp.rint(-low / scale), 0, 255).astype("float32")
    return scale, zero


def _quantize_input(xp: Any, x: Any, scale: Any, zero: Any) -> Any:
    """x_q − z_x as float32 integers in [−255, 255]."""
    return xp.clip(xp.rint(x / scale) + zero, 0, 255).astype("float32") - zero


def _float_weight(module: Any, transpose: bool = False) -> Any:
    """The int8 weight as float32 integers, cached until the weight array is replaced (NumPy has no int8 GEMM)."""
    w = module.weight.array
    cached = module.__dict__.get("_float_cache")
    if cached is None or cached[0] is not w:
        f = w.astype("float32")
        cached = (w, backend_of(w).xp.ascontiguousarray(f.T) if transpose else f)
        object.__setattr__(module, "_float_cache", cached)
    return cached[1]


class QuantizedLinear(Module):
    """Linear with int8 per-channel weights and dynamically quantized uint8 activations (inference only).

        y = s_x·s_w ⊙ ((x_q − z_x) W_qᵀ) + b,  (s_x, z_x) from each input (see :func:`dynamic_qparams`).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None) -> None:
        super().__init__()
        xp = get_backend(device).xp
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight", Tensor._wrap(xp.zeros((self.out_features, self.in_features), dtype="int8")))
        self.register_buffer("weight_scale", Tensor._wrap(xp.ones((self.out_features,), dtype="float32")))
        bias_array = xp.zeros((self.out_features,), dtype="float32") if bias else None
        self.register_buffer("bias", Tensor._wrap(bias_array) if bias else None)

    @classmethod
    def from_float(cls, linear: Any) -> QuantizedLinear:
        xp = backend_of(linear.weight.array).xp
        q = cls(linear.in_features, linear.out_features, linear.bias is not None)
        q.weight.array, q.weight_scale.array = quantize_weight(xp, linear.weight.array.astype("float32"))
        if linear.bias is not None:
            q.bias.array = linear.bias.array.astype("float32").copy()
        return q

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x = input.array
        xp = backend_of(x).xp
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"{self!r}: input has {x.shape[-1]} features in its last dimension, expected {self.in_features} "
                f"(input shape {tuple(x.shape)})"
            )
        scale, zero = dynamic_qparams(xp, x)
        acc = _quantize_input(xp, x, scale, zero) @ _float_weight(self, transpose=True)
        y = acc * (scale * self.weight_scale.array)
        if self.bias is not None:
            y = y + self.bias.array
        return Tensor._wrap(y.astype("float32"))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, int8"

    def get_config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}


class QuantizedConv2d(Module):
    """Conv2d with int8 per-channel weights and statically quantized uint8 input (scale and zero point calibrated).

        y = s_x·s_w[o] · ((x_q − z_x) ⋆ W_q[o]) + b[o]  (zero padding is z_x, i.e. a real 0).
    """

    _n = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
    ) -> None:
        super().__init__()
        n = self._n
        xp = get_backend(device).xp
        tup = lambda v: tuple(int(a) for a in v) if isinstance(v, list | tuple) else (int(v),) * n  # noqa: E731
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.dilation = tup(kernel_size), tup(stride), tup(dilation)
        self.padding = tup(padding)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.register_buffer("weight", Tensor._wrap(xp.zeros(shape, dtype="int8")))
        self.register_buffer("weight_scale", Tensor._wrap(xp.ones((self.out_channels,), dtype="float32")))
        self.register_buffer("input_scale", Tensor._wrap(xp.ones((1,), dtype="float32")))
        self.register_buffer("input_zero_point", Tensor._wrap(xp.zeros((1,), dtype="float32")))
        bias_array = xp.zeros((self.out_channels,), dtype="float32") if bias else None
        self.register_buffer("bias", Tensor._wrap(bias_array) if bias else None)

    @classmethod
    def from_float(cls, conv: Any, low: float, high: float) -> QuantizedConv2d:
        """From a float conv and the input range [low, high] seen in calibration."""
        if conv.padding_mode != "zeros":
            raise NotImplementedError(f"{conv!r}: only padding_mode='zeros' convolutions can be quantized")
        xp = backend_of(conv.weight.array).xp
        padding = conv.padding
        if isinstance(padding, str):  # 'same' / 'valid' → explicit sizes (symmetric ones only)
            pads = conv._pads
            if any(lo != hi for lo, hi in zip(pads[0::2], pads[1::2], strict=True)):
                raise NotImplementedError(f"{conv!r}: padding='same' with an even kernel (uneven padding) is not "
                                          "supported by quantized convolutions")
            padding = tuple(pads[0::2])
        q = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, padding, conv.dilation,
                conv.groups, conv.bias is not None)
        q.weight.array, q.weight_scale.array = quantize_weight(xp, conv.weight.array.astype("float32"))
        scale, zero = dynamic_qparams(xp, xp.asarray([low, high], dtype="float32"))
        q.input_scale.array, q.input_zero_point.array = scale.reshape(1), zero.reshape(1)
        if conv.bias is not None:
            q.bias.array = conv.bias.array.astype("float32").copy()
        return q

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        from .nn.functional import conv1d, conv2d

        x = input.array
        xp = backend_of(x).xp
        xq = _quantize_input(xp, x.astype("float32"), self.input_scale.array, self.input_zero_point.array)
        conv = conv2d if self._n == 2 else conv1d
        acc = conv(Tensor._wrap(xq), Tensor._wrap(_float_weight(self)), None, self.stride,
                   self.padding, self.dilation, self.groups).array
        scale = (self.input_scale.array * self.weight_scale.array).reshape((-1,) + (1,) * self._n)
        y = acc * scale
        if self.bias is not None:
            y = y + self.bias.array.reshape((-1,) + (1,) * self._n)
        return Tensor._wrap(y.astype("float32"))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, int8")

    def get_config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
        }


class QuantizedConv1d(QuantizedConv2d):
    """Conv1d with int8 per-channel weights and statically quantized uint8 input (see :class:`QuantizedConv2d`)."""

    _n = 1


register_module("QuantizedLinear", QuantizedLinear)
register_module("QuantizedConv2d", QuantizedConv2d)
register_module("QuantizedConv1d", QuantizedConv1d)


def _replace(model: Any, make: Any, prefix: str = "") -> Any:
    """Replace, depth first, every child that ``make(path, child)`` maps to a new module."""
    for name, child in list(model.named_children()):
        path = f"{prefix}.{name}" if prefix else name
        new = make(path, child)
        if new is not None:
            model._modules[name] = new  # in place: the child keeps its position (setattr would move it last)
        else:
            _replace(child, make, path)
    return model


def _names(types: Any) -> set[str]:
    return {t if isinstance(t, str) else t.__name__ for t in types}


def quantize_dynamic(model: Any, qconfig_spec: Any = None, dtype: Any = "qint8", inplace: bool = False) -> Any:
    """``torch.ao.quantization.quantize_dynamic``: every Linear (or the types in ``qconfig_spec``) → QuantizedLinear.

    The input model is left as it is unless ``inplace``; the result is in eval mode.
    """
    if str(dtype).split(".")[-1] not in ("qint8", "int8"):
        raise ValueError(f"quantize_dynamic: only dtype qint8 is supported, got {dtype}")
    wanted = _names(qconfig_spec or ["Linear"])
    if wanted - {"Linear"}:
        raise ValueError(f"quantize_dynamic quantizes Linear layers only, asked for {sorted(wanted - {'Linear'})}")
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    if type(model).__name__ == "Linear":
        return QuantizedLinear.from_float(model)
    return _replace(model, lambda path, m: QuantizedLinear.from_float(m) if type(m).__name__ == "Linear" else None)


def quantize_static(model: Any, calibration: Any, linear: str = "dynamic", inplace: bool = False) -> Any:
    """Conv2d/Conv1d → QuantizedConv* with the input ranges seen on ``calibration`` (an iterable of input batches, or
    of (input, target) pairs); Linear → QuantizedLinear (``linear='dynamic'``) or kept float (``linear='float'``)."""
    from .autograd import no_grad
    from .creation import tensor

    model = model if inplace else copy.deepcopy(model)
    model.eval()
    ranges: dict[int, list[float]] = {}
    handles = []
    for _, m in model.named_modules():
        if type(m).__name__ in ("Conv2d", "Conv1d"):
            def hook(module: Any, args: tuple, key: int = id(m)) -> None:
                x = args[0].array
                low, high = float(x.min()), float(x.max())
                seen = ranges.setdefault(key, [low, high])
                seen[0], seen[1] = min(seen[0], low), max(seen[1], high)

            handles.append(m.register_forward_pre_hook(hook))
    batches = 0
    try:
        with no_grad():
            for batch in calibration:
                x = batch[0] if isinstance(batch, tuple | list) else batch
                model(x if isinstance(x, Tensor) else tensor(x))
                batches += 1
    finally:
        for h in handles:
            h.remove()
    if not batches:
        raise ValueError("quantize_static: the calibration data is empty")

    def make(path: str, m: Any) -> Any:
        kind = type(m).__name__
        if kind in ("Conv2d", "Conv1d"):
            low, high = ranges.get(id(m), [0.0, 0.0])
            cls = QuantizedConv2d if kind == "Conv2d" else QuantizedConv1d
            return cls.from_float(m, low, high)
        if kind == "Linear" and linear == "dynamic":
            return QuantizedLinear.from_float(m)
        return None

    return _replace(model, make)


def model_size_bytes(model: Any) -> int:
    """Bytes of the model's saved state (parameters and persistent buffers)."""
    return int(sum(t.array.nbytes for t in model.state_dict().values()))


# ---- quantization-aware training ------------------------------------------------------------------------------------
class FakeQuantizeFunction(Function):
    """Quantize and dequantize in float (as ``torch.fake_quantize_per_channel_affine`` / ``…_per_tensor_affine``):

        q = round(x / s) + z,  y = (clip(q, q_min, q_max) − z) · s      (s, z per tensor, or per slice along axis)
        ∂L/∂x = ∂L/∂y where q_min ≤ q ≤ q_max, else 0                 (the straight-through estimator)
    """

    def forward(self, x: Any, scale: Any = 1.0, zero: Any = 0.0, qmin: int = -127, qmax: int = 127,
                axis: int | None = None) -> Any:
        xp = self.xp
        scale = xp.asarray(scale, dtype=x.dtype)
        zero = xp.asarray(zero, dtype=x.dtype)
        if axis is not None:
            shape = [1] * x.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        q = xp.rint(x / scale) + zero
        self.inside = (q >= qmin) & (q <= qmax)
        return ((xp.clip(q, qmin, qmax) - zero) * scale).astype(x.dtype)

    def backward(self, grad_y: Any) -> Any:
        return grad_y * self.inside


def fake_quantize(x: Tensor, scale: Any, zero: Any, qmin: int, qmax: int, axis: int | None = None) -> Tensor:
    return FakeQuantizeFunction.apply(x, scale=scale, zero=zero, qmin=qmin, qmax=qmax, axis=axis)


def _weight_fake_quant(w: Tensor) -> Tensor:
    """Per-output-channel symmetric int8, scales from the current weights (no gradient through the scales)."""
    xp = backend_of(w.array).xp
    flat = w.array.reshape(w.shape[0], -1)
    scale = xp.abs(flat).max(axis=1) / QMAX
    scale = xp.where(scale > 0, scale, 1.0)
    return fake_quantize(w, scale, xp.zeros_like(scale), QMIN, QMAX, axis=0)


def _input_fake_quant(x: Tensor, low: Any = None, high: Any = None) -> Tensor:
    """uint8 asymmetric per tensor: from this batch's range (dynamic) or a given range (static)."""
    xp = backend_of(x.array).xp
    values = x.array if low is None else xp.asarray([low, high], dtype="float32")
    scale, zero = dynamic_qparams(xp, values)
    return fake_quantize(x, scale, zero, 0, 255)


class QATLinear(Module):
    """Linear trained through fake quantization: y = fq(x) fq(W)ᵀ + b, as QuantizedLinear will compute it."""

    def __init__(self, linear: Any) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        from .nn.functional import linear

        return linear(_input_fake_quant(input), _weight_fake_quant(self.weight), self.bias)


class QATConv2d(Module):
    """Conv2d/Conv1d trained through fake quantization; the input range is observed as training goes (min/max)."""

    def __init__(self, conv: Any) -> None:
        super().__init__()
        if conv.padding_mode != "zeros":
            raise NotImplementedError(f"{conv!r}: only padding_mode='zeros' convolutions can be quantized")
        self.conv = conv
        xp = backend_of(conv.weight.array).xp
        self.register_buffer("input_min", Tensor._wrap(xp.zeros((), dtype="float32")))
        self.register_buffer("input_max", Tensor._wrap(xp.zeros((), dtype="float32")))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        from .nn.functional import conv1d, conv2d

        xp = backend_of(input.array).xp
        if self.training:
            self.input_min.array = xp.minimum(self.input_min.array, input.array.min()).astype("float32")
            self.input_max.array = xp.maximum(self.input_max.array, input.array.max()).astype("float32")
        x = _input_fake_quant(input, self.input_min.array, self.input_max.array)
        c = self.conv
        conv = conv2d if type(c).__name__ == "Conv2d" else conv1d
        return conv(x, _weight_fake_quant(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups)


def prepare_qat(model: Any, calibration: Any = None, inplace: bool = False) -> Any:
    """Linear → QATLinear, Conv2d/Conv1d → QATConv2d (sharing the Parameters): fine-tune it, then :func:`convert`.

    ``calibration`` (input batches) seeds the convolutions' input ranges; otherwise they start at [0, 0] and grow
    with the training batches.
    """
    model = model if inplace else copy.deepcopy(model)

    def make(path: str, m: Any) -> Any:
        kind = type(m).__name__
        if kind == "Linear":
            return QATLinear(m).train(m.training)
        if kind in ("Conv2d", "Conv1d"):
            return QATConv2d(m).train(m.training)
        return None

    model = _replace(model, make)
    if calibration is not None:
        from .autograd import no_grad
        from .creation import tensor

        was = model.training
        model.train()
        with no_grad():
            for batch in calibration:
                x = batch[0] if isinstance(batch, tuple | list) else batch
                model(x if isinstance(x, Tensor) else tensor(x))
        model.train(was)
    return model


def convert(model: Any, inplace: bool = False) -> Any:
    """A QAT model → its int8 model (QuantizedLinear / QuantizedConv*), in eval mode."""
    model = model if inplace else copy.deepcopy(model)
    model.eval()

    def make(path: str, m: Any) -> Any:
        if isinstance(m, QATLinear):
            return QuantizedLinear.from_float(m)
        if isinstance(m, QATConv2d):
            cls = QuantizedConv2d if type(m.conv).__name__ == "Conv2d" else QuantizedConv1d
            return cls.from_float(m.conv, float(m.input_min.array), float(m.input_max.array))
        return None

    return _replace(model, make)
