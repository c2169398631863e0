"""Lazy layers: ``nn.LazyLinear(10)`` learns its ``in_features`` from the first batch it sees, as PyTorch's.

A lazy layer starts with :class:`UninitializedParameter` s (no shape yet). Its first forward reads the input's
feature size (the last dimension for Linear, the channel dimension for convolutions and normalisations),
gives each parameter its shape, runs the layer's own ``reset_parameters`` (so the initialisation is exactly the
eager layer's, e.g. U(±1/√D_in) for Linear) and then *becomes* the eager class: after one call a ``LazyLinear``
is a ``Linear``, saves and prints as one. Optimizers may be built before that call (the parameter objects stay the
same); a ``load_state_dict`` before it gives the parameters the checkpoint's shapes. Anything that needs a
shape earlier (``p.numel()``, saving) raises PyTorch's error, which says to run one batch first.
"""

from __future__ import annotations

from typing import Any

from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from .conv import Conv1d, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .linear import Linear
from .module import Parameter, _leaf
from .norm import BatchNorm1d, BatchNorm2d
from .norm_extra import InstanceNorm1d, InstanceNorm2d
from .three_d import BatchNorm3d, Conv3d, ConvTranspose3d, InstanceNorm3d

__all__ = [
    "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyInstanceNorm1d",
    "LazyInstanceNorm2d", "LazyConv3d", "LazyConvTranspose3d", "LazyBatchNorm3d", "LazyInstanceNorm3d",
]

_NO_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
             "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
             "`forward` to initialize the parameters before accessing their attributes.")


class _Uninitialized:
    """What an uninitialized parameter and buffer share: no shape until :meth:`materialize` gives one."""

    __slots__ = ()
    is_uninitialized = True
    cls_to_become: type = Tensor

    @property
    def shape(self) -> Any:
        raise RuntimeError(_NO_SHAPE)

    def size(self, dim: Any = None) -> Any:
        raise RuntimeError(_NO_SHAPE)

    @property
    def ndim(self) -> int:
        raise RuntimeError(_NO_SHAPE)

    def dim(self) -> int:
        raise RuntimeError(_NO_SHAPE)

    def numel(self) -> int:
        raise ValueError(f"Attempted to use an uninitialized parameter in <method 'numel'>. This error happens when "
                         f"you are using a `LazyModule` or explicitly manipulating `torch.nn.parameter."
                         f"{type(self).__name__}` objects. When using LazyModules Call `forward` with a dummy batch "
                         "to initialize the parameters before calling torch functions")

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the parameter its shape (uninitialized values: the layer's ``reset_parameters`` fills them)."""
        xp = get_backend(device).xp if device is not None else get_backend().xp
        kind = as_dtype(dtype) if dtype is not None else self.array.dtype
        self.array = xp.empty(tuple(int(s) for s in shape), dtype=kind)
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape is not known yet (a lazy layer's, until its first forward)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> UninitializedParameter:
        kind = as_dtype(dtype) if dtype is not None else get_default_dtype()
        return _leaf(cls, get_backend(device).xp.empty((0,), dtype=kind), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet (a lazy normalisation's running statistics)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> UninitializedBuffer:
        kind = as_dtype(dtype) if dtype is not None else get_default_dtype()
        return _leaf(cls, get_backend(device).xp.empty((0,), dtype=kind), requires_grad)

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        pass


class LazyModuleMixin:
    """The first forward infers the missing sizes (:meth:`initialize_parameters`) and turns the layer into
    ``cls_to_become``; ``has_uninitialized_params()`` says whether that is still to come."""

    cls_to_become: type | None = None

    def _start_lazy(self) -> None:
        def infer(module: Any, args: tuple) -> None:
            module.initialize_parameters(*args)
            if module.has_uninitialized_params():
                raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
            module._lazy_handle.remove()
            del module._lazy_handle
            if module.cls_to_become is not None:
                module.__class__ = module.cls_to_become

        self._lazy_handle = self.register_forward_pre_hook(infer)

    def has_uninitialized_params(self) -> bool:
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(getattr(t, "is_uninitialized", False) for t in tensors if t is not None)

    def initialize_parameters(self, *args: Any) -> None:
        raise NotImplementedError

    def _materialize(self, shapes: dict) -> None:
        """Shape each still-uninitialized tensor (name → shape), then the eager layer's initialisation."""
        if not self.has_uninitialized_params():
            return
        for name, shape in shapes.items():
            tensor = getattr(self, name, None)
            if getattr(tensor, "is_uninitialized", False):
                tensor.materialize(shape, dtype=tensor.array.dtype)
        self.reset_parameters()

    def _feature_size(self, args: tuple, unbatched_ndim: int) -> int:
        if not args or not isinstance(args[0], Tensor):
            raise TypeError(f"{type(self).__name__}: the first call needs a Tensor input to infer its size")
        x = args[0]
        axis = 0 if x.ndim == unbatched_ndim else 1
        if x.ndim <= axis:
            raise RuntimeError(f"{type(self).__name__}: cannot infer the input size from an input of shape "
                               f"{tuple(x.shape)}")
        return int(x.shape[axis])


def _uninitialized_like(module: Any, names: tuple, kind: type) -> None:
    """Replace the placeholder tensors ``names`` (made by the eager constructor) by uninitialized ones."""
    for name in names:
        old = getattr(module, name, None)
        if old is None:
            continue
        new = kind(dtype=old.array.dtype, requires_grad=old.requires_grad)
        if name in module._buffers:
            module._buffers[name] = new
        else:
            setattr(module, name, new)


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dimension of the first input (weight (D_out, D_in))."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, out_features, bias, device=device, dtype=dtype)
        _uninitialized_like(self, ("weight", "bias"), UninitializedParameter)
        self._start_lazy()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Any = None, *args: Any) -> None:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError("LazyLinear: the first call needs a Tensor input to infer in_features")
        self.in_features = int(input.shape[-1])
        self._materialize({"weight": (self.out_features, self.in_features), "bias": (self.out_features,)})


class _LazyConvMixin(LazyModuleMixin):
    _transposed = False

    def _lazy_conv_init(self) -> None:
        self.in_channels = 0
        _uninitialized_like(self, ("weight", "bias"), UninitializedParameter)
        self._start_lazy()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args: Any) -> None:
        self.in_channels = self._feature_size(args, self._n + 1)
        if self.in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels must be divisible by groups (in_channels="
                             f"{self.in_channels}, groups={self.groups})")
        if self._transposed:
            weight = (self.in_channels, self.out_channels // self.groups) + tuple(self.kernel_size)
        else:
            weight = (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel_size)
        self._materialize({"weight": weight, "bias": (self.out_channels,)})


class LazyConv1d(_LazyConvMixin, Conv1d):
    """``Conv1d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = Conv1d

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_conv_init()


class LazyConv2d(_LazyConvMixin, Conv2d):
    """``Conv2d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = Conv2d

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_conv_init()


class LazyConvTranspose1d(_LazyConvMixin, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = ConvTranspose1d
    _transposed = True

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_conv_init()


class LazyConvTranspose2d(_LazyConvMixin, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = ConvTranspose2d
    _transposed = True

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_conv_init()


class _LazyNormMixin(LazyModuleMixin):
    _unbatched_ndim = 2

    def _lazy_norm_init(self) -> None:
        self.num_features = 0
        _uninitialized_like(self, ("weight", "bias"), UninitializedParameter)
        _uninitialized_like(self, ("running_mean", "running_var"), UninitializedBuffer)
        self._start_lazy()

    def reset_parameters(self) -> None:  # the eager layers' start: γ = 1, β = 0, running mean 0 and variance 1
        if self.has_uninitialized_params() or self.num_features == 0:
            return
        for name, value in (("weight", 1), ("bias", 0), ("running_mean", 0), ("running_var", 1),
                            ("num_batches_tracked", 0)):
            tensor = getattr(self, name, None)
            if tensor is not None:
                tensor.array[...] = value

    def initialize_parameters(self, *args: Any) -> None:
        self.num_features = self._feature_size(args, self._unbatched_ndim)
        shape = (self.num_features,)
        self._materialize({"weight": shape, "bias": shape, "running_mean": shape, "running_var": shape})


class LazyBatchNorm1d(_LazyNormMixin, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is the first input's channel count (dimension 1)."""

    cls_to_become = BatchNorm1d
    _unbatched_ndim = 0  # (N, C) and (N, C, L) both have C at dimension 1

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()


class LazyBatchNorm2d(_LazyNormMixin, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is the first input's channel count."""

    cls_to_become = BatchNorm2d
    _unbatched_ndim = 3

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()


class LazyInstanceNorm1d(_LazyNormMixin, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` is the first input's channel count (NOTE: ``affine`` and
    ``track_running_stats`` default to True here, unlike the eager layer: PyTorch's lazy defaults)."""

    cls_to_become = InstanceNorm1d
    _unbatched_ndim = 2

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()


class LazyInstanceNorm2d(_LazyNormMixin, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` is the first input's channel count (affine and tracked by
    default, as PyTorch's lazy layer)."""

    cls_to_become = InstanceNorm2d
    _unbatched_ndim = 3

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()


class LazyConv3d(_LazyConvMixin, Conv3d):
    """``Conv3d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = Conv3d
    _n = 3

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_conv_init()


class LazyConvTranspose3d(_LazyConvMixin, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` is the first input's channel count."""

    cls_to_become = ConvTranspose3d
    _transposed = True
    _n = 3

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_conv_init()


class LazyBatchNorm3d(_LazyNormMixin, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` is the first input's channel count."""

    cls_to_become = BatchNorm3d
    _unbatched_ndim = 4

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()


class LazyInstanceNorm3d(_LazyNormMixin, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` is the first input's channel count (affine and tracked by
    default, as PyTorch's lazy layer)."""

    cls_to_become = InstanceNorm3d
    _unbatched_ndim = 4

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy_norm_init()
