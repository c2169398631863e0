"""Tensor: an array, its gradient and the graph node that made it. Operators delegate to ``ops/``; no math here.

The class is its core (fields, dtype and device, conversion, the Python protocol) plus four method groups, its
bases: ``_tensor_math.py`` (operators, element-wise, reductions), ``_tensor_shape.py`` (views, ``[]``),
``_tensor_inplace.py`` (``x.f_()``, ``+=``) and ``_tensor_indexing.py`` (gather/scatter, sorting, ...).
"""

from __future__ import annotations

import operator
from typing import Any

from . import (
    _tensor_base,
    _tensor_extra,
    _tensor_indexing,
    _tensor_inplace,
    _tensor_inplace_more,
    _tensor_math,
    _tensor_math_more,
    _tensor_more,
    _tensor_shape,
    _tensor_str,
    autograd,
)
from ._tensor_base import _data, _dims
from ._tensor_extra import ExtraMethods
from ._tensor_indexing import IndexingMethods
from ._tensor_inplace import InplaceMethods
from ._tensor_inplace_more import InplaceMoreMethods
from ._tensor_math import MathMethods
from ._tensor_math_more import MathMoreMethods
from ._tensor_more import MoreMethods
from ._tensor_shape import ShapeMethods
from .backend import NUMPY, Device, as_dtype, backend_of, get_backend, get_default_dtype, is_device
from .dtypes import to_shenjing

__all__ = ["Tensor", "tensor", "is_tensor", "Size"]


class Size(tuple):
    """The shape of a tensor, as ``torch.Size``: a tuple of ints that prints as ``shenjing.Size([2, 3])``."""

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:
        return super().__new__(cls, (operator.index(s) for s in sizes))

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index: Any) -> Any:
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __repr__(self) -> str:
        return f"shenjing.Size({list(self)!r})"

    def __reduce__(self) -> tuple:
        return Size, (tuple(self),)


class Tensor(MathMethods, ShapeMethods, InplaceMethods, IndexingMethods, MoreMethods, MathMoreMethods,
             InplaceMoreMethods, ExtraMethods):
    """A multi-dimensional array that records the ops applied to it, for reverse-mode differentiation.

    Attributes:
        array: the array itself (NumPy on the CPU, CuPy on a GPU); ``np.asarray(t)`` and ``t.numpy()`` give it
            too. ``t.data`` is, as in PyTorch, a detached Tensor sharing that array.
        grad: ∂L/∂self after ``L.backward()`` (a Tensor), for leaves that require grad.
        requires_grad: whether ops on this tensor are recorded for backward.

    Make tensors with :func:`shenjing.tensor`, :func:`shenjing.zeros`, :func:`shenjing.randn`, ... as in
    PyTorch. Python floats become the default dtype (float32); NumPy arrays keep their dtype.
    """

    __slots__ = ("array", "grad", "requires_grad", "_ctx", "_retains_grad", "__weakref__")
    # NumPy scalars and arrays on the left of an operator defer to the Tensor (np.float32(2) * t is a Tensor in
    # the graph, as PyTorch's, not an ndarray cut from it): the value PyTorch's Tensor uses
    __array_priority__ = 1000

    def __init__(self, *data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> None:
        """The legacy constructor, as ``torch.Tensor``: always of the default dtype (unless ``dtype``).

        ``Tensor(2, 3)`` or ``Tensor(Size([2, 3]))``: uninitialised, of that shape; ``Tensor([1, 2])`` or
        ``Tensor(ndarray)``: a copy of the data converted to the default dtype; ``Tensor()``: shape (0,).
        Prefer :func:`shenjing.tensor` (which keeps integer data integer) in new code.
        """
        from .legacy import legacy_tensor

        made = legacy_tensor(data, get_default_dtype() if dtype is None else dtype, device)
        self.array, self.grad, self.requires_grad, self._ctx = made.array, None, False, None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Any, requires_grad: bool = False) -> Tensor:
        """A leaf tensor around an existing array (no copy, no checks)."""
        t = cls.__new__(cls)
        t.array, t.grad, t.requires_grad, t._ctx = data, None, requires_grad, None
        return t

    # ---- attributes -------------------------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """This tensor's values as a new Tensor outside the graph (requires_grad=False), sharing the array.

        As PyTorch's ``x.data``: ``p.data -= lr * p.grad.data`` updates ``p`` in place, unrecorded;
        ``x.data = y`` replaces the values (``y`` a Tensor or an array).
        """
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, Tensor) else value

    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self.array.shape)

    @property
    def dtype(self) -> Any:
        """The dtype, as ``shenjing.float32``; equal to the NumPy dtype of ``self.array``."""
        return to_shenjing(self.array.dtype)

    @property
    def device(self) -> Device:
        return backend_of(self.array).device

    @property
    def is_cuda(self) -> bool:
        """Whether the tensor lives on a CUDA GPU (``device.type == 'cuda'``)."""
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_mps = is_meta = is_sparse = is_quantized = is_nested = property(lambda self: False,
                                                                       doc="Always False: no such tensors here.")

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def grad_fn(self) -> Any:
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> Any:
        """The shape as a :class:`Size`, or the length of dimension ``dim`` (negative counts from the end)."""
        if dim is None:
            return tuple.__new__(Size, self.array.shape)
        ndim = self.array.ndim
        if ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        if not -ndim <= dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})"
            )
        return self.array.shape[dim]

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    # ---- conversion ---------------------------------------------------------------------------------------
    def item(self) -> Any:
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to Scalar")
        return self.array.reshape(()).item() if hasattr(self.array, "item") else float(self.array)

    def tolist(self) -> Any:
        return backend_of(self.array).to_host(self.array).tolist()

    def numpy(self) -> Any:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        backend = backend_of(self.array)
        if backend is not NUMPY:
            raise TypeError(
                f"can't convert {backend.device} tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
                "memory first."
            )
        return self.array

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        host = backend_of(self.array).to_host(self.array)
        return host if dtype is None else host.astype(dtype)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no copy)."""
        return Tensor._wrap(self.array)

    def detach_(self) -> Tensor:
        self._ctx, self.requires_grad = None, False
        return self

    def clone(self) -> Tensor:
        return _Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Also keep ``.grad`` on this non-leaf tensor after backward."""
        autograd.retain_grad(self)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Compute ∂self/∂x for every leaf x that requires grad, accumulating into ``x.grad``."""
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``, as PyTorch."""
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif is_device(arg):
                device = arg
            elif arg is not None:
                dtype = arg
        out = self
        if device is not None and Device(device) != self.device:
            out = _ToDevice.apply(out, backend=get_backend(device))
        if dtype is not None and as_dtype(dtype) != out.dtype:
            out = _Cast.apply(out, dtype=as_dtype(dtype))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def type(self, dtype: Any = None) -> Any:
        """``x.type()`` names the tensor type as PyTorch (``'shenjing.FloatTensor'``); ``x.type(dtype)`` casts."""
        from .legacy import LEGACY_NAMES, LegacyTensorType

        if dtype is None:
            name = LEGACY_NAMES.get(self.array.dtype.name, self.array.dtype.name)
            return f"shenjing.{'cuda.' if self.device.type == 'cuda' else ''}{name}"
        if isinstance(dtype, str) and dtype.startswith(("shenjing.", "torch.")):
            by_name = {v: k for k, v in LEGACY_NAMES.items()}
            dtype = by_name.get(dtype.rpartition(".")[2], dtype.rpartition(".")[2])
        elif isinstance(dtype, LegacyTensorType):
            dtype = dtype.dtype
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # ---- new tensors like this one (its dtype and device unless given) ------------------------------------
    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` with this tensor's dtype and device (unless given), as ``Tensor.new_tensor``."""
        return tensor(data, dtype=self.dtype if dtype is None else dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("zeros", size, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("ones", size, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("empty", size, dtype, device, requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        xp = get_backend(device or self.device).xp
        array = xp.full(tuple(size), _data(fill_value), dtype=as_dtype(self.dtype if dtype is None else dtype))
        return _leaf(array, requires_grad)

    def _new(self, kind: str, size: tuple, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
        xp = get_backend(device or self.device).xp
        array = getattr(xp, kind)(_dims(size), dtype=as_dtype(self.dtype if dtype is None else dtype))
        return _leaf(array, requires_grad)

    def float(self) -> Tensor:
        return self.to("float32")

    def double(self) -> Tensor:
        return self.to("float64")

    def half(self) -> Tensor:
        return self.to("float16")

    def long(self) -> Tensor:
        return self.to("int64")

    def int(self) -> Tensor:
        return self.to("int32")

    def bool(self) -> Tensor:
        return self.to("bool")

    # ---- Python protocol ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        """PyTorch's print, character for character (see ``_tensor_str.py``)."""
        host = backend_of(self.array).to_host(self.array)
        prefix = "tensor("
        suffixes = []
        if str(self.device) != "cpu":
            suffixes.append(f"device='{self.device}'")
        if host.size == 0:
            if host.ndim != 1:  # the shape of an empty tensor, unless (0,), as PyTorch (and NumPy)
                suffixes.append(f"size={tuple(host.shape)}")
            if self.dtype != get_default_dtype():
                suffixes.append(f"dtype={self.dtype}")
            body = "[]"
        else:
            if self.dtype not in (get_default_dtype(), NUMPY.xp.dtype("int64"), NUMPY.xp.dtype("bool")):
                suffixes.append(f"dtype={self.dtype}")
            body = _tensor_str.tensor_str(host, len(prefix))
        if self._ctx is not None:
            suffixes.append(f"grad_fn=<{self._ctx.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return _tensor_str.add_suffixes(prefix + body, suffixes, len(prefix))

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.array.size} values is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as PyTorch; other tensors format as their repr."""
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ---- autograd: version counter and hooks ---------------------------------------------------------------
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (shared with its views), as PyTorch."""
        return autograd.version_of(self.array)

    def register_hook(self, hook: Any) -> Any:
        """Run ``hook(grad)`` on this tensor's gradient during backward; a returned Tensor replaces it."""
        return autograd.register_hook(self, hook)


# The method groups sit below Tensor (they are its bases) yet refer to it (``isinstance``, ``Tensor._wrap``):
# each module has a ``Tensor`` global, set here, as autograd has ``_Tensor``.
autograd._Tensor = Tensor
for _group in (_tensor_base, _tensor_math, _tensor_shape, _tensor_inplace, _tensor_indexing, _tensor_more,
               _tensor_math_more, _tensor_inplace_more, _tensor_extra):
    _group.Tensor = Tensor
del _group


class _Clone(autograd.Function):
    """out = a copy of a.   ∂out/∂a = 1."""

    def forward(self, a: Any) -> Any:
        return a.copy()

    def backward(self, grad: Any) -> Any:
        return grad


class _Cast(autograd.Function):
    """out = a converted to ``dtype``.   ∂L/∂a = ∂L/∂out converted back."""

    def forward(self, a: Any, dtype: Any = None) -> Any:
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad: Any) -> Any:
        return grad.astype(self.dtype) if self.dtype.kind in "fc" else None


class _ToDevice(autograd.Function):
    """out = a copied to another device.   ∂L/∂a = ∂L/∂out copied back."""

    def forward(self, a: Any, backend: Any = None) -> Any:
        self.source = backend_of(a)
        self.xp = backend.xp
        return backend.from_host(self.source.to_host(a))

    def backward(self, grad: Any) -> Any:
        return self.source.from_host(backend_of(grad).to_host(grad))


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (a number, nested list, NumPy/CuPy array or Tensor).

    Python floats become the default dtype (float32) and Python ints int64, as in PyTorch; arrays keep
    their dtype (a float64 NumPy array stays float64).

    Example:
        >>> import shenjing
        >>> shenjing.tensor([[0.1, 0.2], [0.3, 0.4]]).dtype
        shenjing.float32
    """
    if isinstance(data, Tensor):
        data = data.array
    backend = get_backend(device) if device is not None else None
    if hasattr(data, "__array_priority__") or hasattr(data, "dtype") and hasattr(data, "shape"):
        source = backend_of(data) if not isinstance(data, tuple | list) else NUMPY
        array = data
        if backend is None:
            backend = source
        elif backend is not source:
            array = backend.from_host(source.to_host(array))
        array = backend.xp.array(array, dtype=None if dtype is None else as_dtype(dtype), copy=True)
    else:
        host = NUMPY.xp.asarray(_unwrap_nested(data))
        if dtype is not None:
            host = host.astype(as_dtype(dtype))
        elif host.dtype.kind == "f":
            host = host.astype(get_default_dtype())
        elif host.dtype.kind in "iu":
            host = host.astype("int64")
        backend = backend or get_backend(None)  # the default device (set_default_device)
        array = backend.from_host(host) if backend is not NUMPY else host
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _leaf(array: Any, requires_grad: bool) -> Tensor:
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return backend_of(data.array).to_host(data.array)
    if isinstance(data, list | tuple):
        return [_unwrap_nested(d) for d in data]
    return data


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)
