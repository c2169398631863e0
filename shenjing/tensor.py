"""Tensor: an array, its gradient and the graph node that made it. Operators delegate to ``ops/``; no math here."""

from __future__ import annotations

import operator
from typing import Any

from . import autograd
from . import return_types
from .backend import NUMPY, Device, as_dtype, backend_of, get_backend, get_default_dtype, is_device
from .dtypes import to_shenjing
from .ops.broadcast import promote
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S
from .ops import cumulative as CU
from .ops import einsum as EI
from .ops import indexing as IX

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


def _data(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _dims(args: tuple) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``, as PyTorch accepts both."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return tuple(args[0])
    return args


class Tensor:
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
        host = backend_of(self.array).to_host(self.array)
        xp = NUMPY.xp
        finite = host[xp.isfinite(host)] if host.dtype.kind == "f" else host
        whole = host.dtype.kind != "f" or bool((finite == xp.round(finite)).all())
        body = xp.array2string(host, separator=", ", prefix="tensor(", precision=4, threshold=1000,
                               floatmode="unique" if whole else "fixed")
        extras = []
        if str(self.device) != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (get_default_dtype(), NUMPY.xp.dtype("int64"), NUMPY.xp.dtype("bool")):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

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

    # ---- arithmetic ---------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return E.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return E.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return E.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return E.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return E.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return E.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return E.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return E.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return E.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return E.Pow.apply(other, self)

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return E.Abs.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return L.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return L.MatMul.apply(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _compare(operator.floordiv, self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _compare(operator.floordiv, other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _compare(operator.mod, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _compare(operator.mod, other, self)

    def _inplace(self, op: Any, other: Any, method: str) -> Tensor:
        """``x op= y``: in place, as PyTorch. Inside a graph the write is recorded (x moves onto a new node)."""
        if autograd._grad_mode.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            return _inplace_graph(self, lambda old: op.apply(old, old if other is self else other))
        getattr(self.array, method)(_data(other))
        autograd.bump_version(self.array)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(E.Add, other, "__iadd__")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(E.Sub, other, "__isub__")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(E.Mul, other, "__imul__")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(E.Div, other, "__itruediv__")

    # comparisons give bool tensors and record nothing
    # (compared in the promoted dtype of both, as PyTorch: torch.result_type)
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(operator.eq, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(operator.ne, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(operator.lt, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(operator.le, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(operator.gt, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(operator.ge, self, other)

    def __invert__(self) -> Tensor:
        out = Tensor._wrap(~self.array)
        if autograd._grad_mode.tracer is not None:
            autograd._grad_mode.tracer(Compare, None, (self,), {"op": operator.invert}, out)
        return out

    def __and__(self, other: Any) -> Tensor:
        return _compare(operator.and_, self, other)

    def __rand__(self, other: Any) -> Tensor:
        return _compare(operator.and_, other, self)

    def __or__(self, other: Any) -> Tensor:
        return _compare(operator.or_, self, other)

    def __ror__(self, other: Any) -> Tensor:
        return _compare(operator.or_, other, self)

    def __xor__(self, other: Any) -> Tensor:
        return _compare(operator.xor, self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return _compare(operator.xor, other, self)

    def eq(self, other: Any) -> Tensor:
        return self == other

    def add(self, other: Any, alpha: float = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def mm(self, mat2: Any) -> Tensor:
        from .functions import mm

        return mm(self, mat2)

    def mv(self, vec: Any) -> Tensor:
        from .functions import mv

        return mv(self, vec)

    def dot(self, other: Any) -> Tensor:
        from .functions import dot

        return dot(self, other)

    def bmm(self, mat2: Any) -> Tensor:
        from .functions import bmm

        return bmm(self, mat2)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as PyTorch; other tensors format as their repr."""
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def neg(self) -> Tensor:
        return -self

    def exp(self) -> Tensor:
        return E.Exp.apply(self)

    def log(self) -> Tensor:
        return E.Log.apply(self)

    def sqrt(self) -> Tensor:
        return E.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return 1 / E.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    def sin(self) -> Tensor:
        return E.Sin.apply(self)

    def cos(self) -> Tensor:
        return E.Cos.apply(self)

    def square(self) -> Tensor:
        return E.Mul.apply(self, self)

    def reciprocal(self) -> Tensor:
        return 1 / self

    def sign(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.sign(self.array))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return E.Clamp.apply(self, _data(min), _data(max))

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp(max=max)

    def maximum(self, other: Any) -> Tensor:
        return E.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        return E.Minimum.apply(self, other)

    def where(self, condition: Any, other: Any) -> Tensor:
        return E.Where.apply(_data(condition), self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """self with ``value`` where the bool ``mask`` (broadcast with self) is True; the value takes self's dtype."""
        mask = _data(mask)
        if getattr(mask, "dtype", None) is None or mask.dtype.kind != "b":
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                                   f"{value.ndim} dimension(s)")
            if value.dtype != self.dtype:
                value = value.to(self.dtype)
        elif self.array.dtype.kind != "f":
            value = backend_of(self.array).xp.asarray(value).astype(self.array.dtype)
        return E.Where.apply(mask, value, self)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return self + (end - self) * weight

    # activations live with their derivatives in nn/activation.py
    def sigmoid(self) -> Tensor:
        return _activations().sigmoid(self)

    def tanh(self) -> Tensor:
        return _activations().tanh(self)

    def relu(self) -> Tensor:
        return _activations().relu(self)

    def softmax(self, dim: int = -1) -> Tensor:
        return _activations().softmax(self, dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return _activations().log_softmax(self, dim)

    # ---- reductions ---------------------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind == "b":
            source = source.long()
        return R.Sum.apply(source, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                f"dtype. Got: {source.dtype}. Convert with .float() first."
            )
        return R.Mean.apply(source, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def _extreme(self, dim: Any, keepdim: bool, minimum: bool) -> Any:
        """``max()``/``min()``: the whole extreme, ``(values, indices)`` along ``dim``, or element-wise."""
        if dim is None:
            return R.Amax.apply(self, axes=None, keepdim=False, minimum=minimum)
        if isinstance(dim, Tensor):  # max(other) is the element-wise maximum, as PyTorch
            return (E.Minimum if minimum else E.Maximum).apply(self, dim)
        (axis,) = R.normalize_axis(dim, self.ndim)
        result = return_types.min if minimum else return_types.max
        if self.ndim == 0:  # NOTE: a 0-d tensor is its own max along dim 0 or -1, at index 0
            xp = backend_of(self.array).xp
            return result(self.clone(), Tensor._wrap(xp.zeros((), dtype="int64")))
        values = R.MaxAlong.apply(self, axis=axis, keepdim=keepdim, minimum=minimum)
        xp = backend_of(self.array).xp
        picked = (self.array.argmin if minimum else self.array.argmax)(axis=axis)
        indices = xp.expand_dims(picked, axis) if keepdim else picked
        return result(values, Tensor._wrap(xp.asarray(indices, dtype="int64")))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest element, or ``(values, indices)`` along ``dim``, or the element-wise max with a tensor."""
        return self._extreme(dim, keepdim, minimum=False)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, minimum=True)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.Amax.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim, minimum=False)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.Amax.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim, minimum=True)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return R.Var.apply(self, axes=R.normalize_axis(dim, self.ndim), correction=correction, keepdim=keepdim)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return R.LogSumExp.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        if p == 2 or p == "fro":
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == float("inf"):
            return self.abs().amax(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, "argmin")

    def _arg(self, dim: Any, keepdim: bool, name: str) -> Tensor:
        data = self.array
        if dim is None:
            out = getattr(data.reshape(-1), name)()
            return Tensor._wrap(backend_of(data).xp.asarray(out).reshape((1,) * data.ndim if keepdim else ()))
        out = getattr(data, name)(axis=dim, keepdims=keepdim)
        return Tensor._wrap(out)

    def all(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.asarray(self.array.all(axis=dim)))

    def any(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.asarray(self.array.any(axis=dim)))

    # ---- shape --------------------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        shape = _dims(shape)
        if shape == self.array.shape:
            return self
        return S.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], int | tuple | list):
            return self.to(shape[0])  # view(dtype) is a reinterpretation in PyTorch; a cast is the safe analogue
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.shape
        if not shape:
            return self.reshape(1)
        start, end = start_dim % len(shape), end_dim % len(shape)
        size = 1
        for s in shape[start : end + 1]:
            size *= s
        return self.reshape(shape[:start] + (size,) + shape[end + 1 :])

    def unflatten(self, dim: int, sizes: tuple) -> Tensor:
        dim = dim % self.ndim
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1 :])

    def squeeze(self, dim: Any = None) -> Tensor:
        shape = self.shape
        if dim is None:
            return self.reshape(tuple(s for s in shape if s != 1))
        axes = R.normalize_axis(dim, self.ndim)
        return self.reshape(tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return S.Permute.apply(self, dims=tuple(dims))

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        return S.Permute.apply(self, dims=tuple(d % self.ndim for d in _dims(dims)))

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _dims(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return S.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        return S.Tile.apply(self, reps=_dims(sizes))

    def flip(self, *dims: Any) -> Tensor:
        return S.Flip.apply(self, axes=tuple(_dims(dims)))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        size = -(-self.shape[dim] // chunks)
        return self.split(size, dim)

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        length = self.shape[dim]
        if isinstance(split_size, int):
            sizes = [min(split_size, length - start) for start in range(0, length, split_size)]
        else:
            sizes = list(split_size)
        prefix = (slice(None),) * (dim % self.ndim)
        out, start = [], 0
        for size in sizes:
            out.append(self[prefix + (slice(start, start + size),)])
            start += size
        return tuple(out)

    def unbind(self, dim: int = 0) -> tuple:
        prefix = (slice(None),) * (dim % self.ndim)
        return tuple(self[prefix + (i,)] for i in range(self.shape[dim]))

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        return S.Index.apply(self, index=index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value``. Inside a graph (x or value requires grad) it is recorded, as PyTorch's
        ``index_put_``/``copy_`` on a slice: the gradient flows to ``value`` and to the untouched part of x."""
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        if autograd._grad_mode.enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            _inplace_graph(self, lambda old: _inplace_ops().SetItem.apply(old, value, index=index))
            return
        self.array[index] = _data(value)
        autograd.bump_version(self.array)

    # ---- in-place updates ---------------------------------------------------------------------------------
    # Outside a graph (no_grad, or nothing requires grad) they write the array directly: initialisation and
    # optimizers. Inside one they are recorded (see shenjing/autograd/inplace.py). Each bumps ``_version``.
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (shared with its views), as PyTorch."""
        return autograd.version_of(self.array)

    def register_hook(self, hook: Any) -> Any:
        """Run ``hook(grad)`` on this tensor's gradient during backward; a returned Tensor replaces it."""
        return autograd.register_hook(self, hook)

    def _check_inplace(self) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in "
                "`with shenjing.no_grad():`."
            )

    def _in_graph(self, *others: Any) -> bool:
        return autograd._grad_mode.enabled and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        )

    def _inplace_unary(self, fn: Any) -> Tensor:
        """``x.f_()`` for an element-wise ``f``: recorded inside a graph, a plain write outside."""
        if self._in_graph():
            return _inplace_graph(self, fn)
        self.array[...] = fn(Tensor._wrap(self.array)).array
        autograd.bump_version(self.array)
        return self

    def _fill_with(self, value: Any) -> Tensor:
        if self._in_graph(value):
            return _inplace_graph(self, lambda old: _inplace_ops().Fill.apply(old, value))
        self.array[...] = _data(value)
        autograd.bump_version(self.array)
        return self

    def zero_(self) -> Tensor:
        return self._fill_with(0)

    def fill_(self, value: Any) -> Tensor:
        return self._fill_with(value)

    def copy_(self, source: Any, non_blocking: bool = False) -> Tensor:
        if self._in_graph(source):
            if isinstance(source, Tensor) and source.device != self.device:
                source = source.to(self.device)
            return _inplace_graph(self, lambda old: _inplace_ops().Copy.apply(old, source))
        src = _data(source)
        if not isinstance(src, backend_of(self.array).array_types):
            src = backend_of(self.array).from_host(backend_of(src).to_host(src)) if hasattr(src, "shape") else src
        self.array[...] = src
        autograd.bump_version(self.array)
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Add.apply(old, other if alpha == 1 else other * alpha))
        self.array += _data(other) * alpha if alpha != 1 else _data(other)
        autograd.bump_version(self.array)
        return self

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Mul.apply(old, old if other is self else other))
        self.array *= _data(other)
        autograd.bump_version(self.array)
        return self

    def div_(self, other: Any) -> Tensor:
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Div.apply(old, old if other is self else other))
        self.array /= _data(other)
        autograd.bump_version(self.array)
        return self

    def pow_(self, exponent: Any) -> Tensor:
        if self._in_graph(exponent):
            return _inplace_graph(self, lambda old: E.Pow.apply(old, exponent))
        self.array **= _data(exponent)
        autograd.bump_version(self.array)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if self._in_graph():
            return _inplace_graph(self, lambda old: old.clamp(min, max))
        backend_of(self.array).xp.clip(self.array, _data(min), _data(max), out=self.array)
        autograd.bump_version(self.array)
        return self

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp_(min=min)

    def clamp_max_(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp_(max=max)

    def neg_(self) -> Tensor:
        return self._inplace_unary(lambda t: -t)

    def abs_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.abs())

    def exp_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.exp())

    def log_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.log())

    def sqrt_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sqrt())

    def sin_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sin())

    def cos_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.cos())

    def relu_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.relu())

    def sigmoid_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sigmoid())

    def tanh_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.tanh())

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace_op(lambda t: t.masked_fill(mask, value), value)  # masked_fill checks mask and value

    def _random_fill(self, sample: Any) -> Tensor:
        values = sample(backend_of(self.array)).astype(self.array.dtype)
        if self._in_graph():
            return _inplace_graph(self, lambda old: _inplace_ops().Fill.apply(old, values))
        self.array[...] = values
        autograd.bump_version(self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.uniform(a, b, size=self.array.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.normal(mean, std, size=self.array.shape))

    # ---- ops: indexing, sorting, cumulative, einsum (issue 9; the Functions live in ops/indexing.py & co.) ------
    def _dim(self, dim: int) -> int:
        """``dim`` in range(ndim) (a 0-d tensor takes dims 0 and -1), or PyTorch's IndexError."""
        n = max(self.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        return dim % n

    def _index(self, index: Any, name: str, ndim: bool = True) -> Any:
        """``index`` as an int64 array on this tensor's device, checked as PyTorch checks it."""
        array = _data(index)
        if not hasattr(array, "dtype"):
            array = backend_of(self.array).xp.asarray(array, dtype="int64")
        if array.dtype.kind not in "iu":
            raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {array.dtype}")
        if ndim and array.ndim != self.ndim and not (array.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(
                f"{name}(): Index tensor must have the same number of dimensions as input tensor: index of shape "
                f"{tuple(array.shape)} for input of shape {tuple(self.shape)}"
            )
        return array.astype("int64", copy=False)

    def _check_bounds(self, index: Any, dim: int, name: str, error: type = RuntimeError) -> None:
        size = self.shape[dim] if self.ndim else 1
        if index.size and (bool((index >= size).any()) or bool((index < 0).any())):
            raise error(f"{name}(): index out of range in self: indices {index.min()}..{index.max()} for dimension "
                        f"{dim} of size {size}")

    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
        """out[i][j] = self[index[i][j]][j] for dim=0 (and likewise for other dims); index is int64."""
        dim = self._dim(dim)
        index = self._index(index, "gather")
        if self.ndim == 0:
            return self.reshape(1).gather(0, index.reshape(1)).reshape(index.shape)
        for d in range(self.ndim):
            if d != dim and index.shape[d] > self.shape[d]:
                raise RuntimeError(
                    f"gather(): Size does not match at dimension {d}: index of shape {tuple(index.shape)} is larger "
                    f"than input of shape {tuple(self.shape)} apart from dimension {dim}"
                )
        self._check_bounds(index, dim, "gather")
        return IX.Gather.apply(self, index=index, dim=dim)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """Values at ``indices`` along ``dim`` (both broadcast apart from ``dim``); flat positions when None."""
        indices = self._index(indices, "take_along_dim", ndim=False)
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        dim = self._dim(dim)
        if indices.ndim != self.ndim:
            raise RuntimeError(
                f"take_along_dim(): input and indices should have the same number of dimensions, but got "
                f"{self.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
            )
        xp = backend_of(self.array).xp
        rest = xp.broadcast_shapes(tuple(n for d, n in enumerate(self.shape) if d != dim),
                                   tuple(n for d, n in enumerate(indices.shape) if d != dim))
        shape_a = rest[:dim] + (self.shape[dim],) + rest[dim:]
        shape_i = rest[:dim] + (indices.shape[dim],) + rest[dim:]
        source = self if shape_a == self.shape else self.expand(shape_a)
        return source.gather(dim, xp.broadcast_to(indices, shape_i))

    def _scatter_args(self, dim: int, index: Any, src: Any, name: str) -> tuple:
        dim = self._dim(dim)
        index = self._index(index, name)
        self._check_bounds(index, dim, name)
        if isinstance(src, Tensor) and src.ndim != index.ndim:
            raise RuntimeError(
                f"{name}(): Index tensor must have the same number of dimensions as src tensor: index of shape "
                f"{tuple(index.shape)}, src of shape {tuple(src.shape)}"
            )
        if isinstance(src, Tensor) and src.dtype != self.dtype:
            raise RuntimeError(
                f"{name}(): Expected self.dtype to be equal to src.dtype, got {self.dtype} and {src.dtype}")
        return dim, index

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None) -> Tensor:
        """A copy of self with ``src`` (a tensor) or ``value`` (a number) written at ``index`` along ``dim``."""
        if src is not None and value is not None:
            raise TypeError("scatter(): give either src or value, not both")
        if src is None:
            src = value
        if reduce is not None:
            if reduce not in ("add", "multiply"):
                raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}")
            if not isinstance(src, Tensor):
                src = Tensor._wrap(backend_of(self.array).xp.full(_data(index).shape, src, dtype=self.dtype))
            if reduce == "multiply":
                return self.scatter_reduce(dim, index, src, "prod")
            return self.scatter_add(dim, index, src)
        dim, index = self._scatter_args(dim, index, src, "scatter")
        if isinstance(src, Tensor):
            return IX.Scatter.apply(self, src, index=index, dim=dim)
        return IX.Scatter.apply(self, None, index=index, dim=dim, value=_data(src))

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy of self with ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
        dim, index = self._scatter_args(dim, index, src, "scatter_add")
        return IX.ScatterAdd.apply(self, src, index=index, dim=dim)

    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
        """Scatter ``src`` into a copy of self, combining by "sum", "prod", "mean", "amax" or "amin"."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        dim, index = self._scatter_args(dim, index, src, "scatter_reduce")
        if reduce in ("prod", "amax", "amin"):
            return IX.ScatterReduce.apply(self, src, index=index, dim=dim, reduce=reduce, include_self=include_self)
        return IX.ScatterAdd.apply(self, src, index=index, dim=dim, include_self=include_self, mean=reduce == "mean")

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The slices of self at the 1-D ``index`` along ``dim``."""
        dim = self._dim(dim)
        index = self._index(index, "index_select", ndim=False)
        if index.ndim > 1:
            raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {tuple(index.shape)}")
        self._check_bounds(index, dim, "index_select", IndexError)
        if self.ndim == 0:
            return self.reshape(1).index_select(0, index).reshape(())
        return IX.IndexSelect.apply(self, index=index.reshape(-1), dim=dim)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        """A copy of self with ``alpha * source`` added at the 1-D ``index`` along ``dim``."""
        dim = self._dim(dim)
        index = self._index(index, "index_add", ndim=False).reshape(-1)
        self._check_bounds(index, dim, "index_add", IndexError)
        if isinstance(source, Tensor) and source.dtype != self.dtype:
            raise RuntimeError(f"index_add_(): self ({self.dtype}) and source ({source.dtype}) must have the same "
                               "scalar type")
        return IX.IndexAdd.apply(self, source, index=index, dim=dim, alpha=alpha)

    def masked_select(self, mask: Any) -> Tensor:
        """The elements of self where the bool ``mask`` is True (broadcast together), as a 1-D tensor."""
        mask = _data(mask)
        if mask.dtype.kind != "b":
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {mask.dtype}")
        return IX.MaskedSelect.apply(self, mask=mask)

    def _inplace_op(self, compute: Any, *others: Any) -> Tensor:
        """``x.f_(...)``: ``compute(x)`` (an out-of-place op) becomes x's value; inside a graph x moves onto the
        new node (``autograd.inplace.rebase``, version-counted) while earlier consumers keep its old history."""
        self._check_inplace()
        tracked = autograd.is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
        if not tracked:
            out = compute(self)
            self._check_inplace_result(out)
            self.array[...] = out.array
            autograd.bump_version(self.array)
            return self

        def checked(old: Tensor) -> Tensor:
            out = compute(old)
            self._check_inplace_result(out)
            return out

        return _inplace_graph(self, checked)

    def _check_inplace_result(self, out: Tensor) -> None:
        if out.shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(out.shape)}")
        if out.array.dtype != self.array.dtype:
            raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type {self.dtype}")

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        return self._inplace_op(lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), src)

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Tensor:
        return self._inplace_op(lambda t: t.scatter_add(dim, index, src), src)

    def scatter_reduce_(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
        return self._inplace_op(lambda t: t.scatter_reduce(dim, index, src, reduce, include_self=include_self), src)

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.index_add(dim, index, source, alpha=alpha), source)

    def _sort_indices(self, dim: int, descending: bool) -> Any:
        """Indices that sort self along ``dim`` stably (NaN last ascending, first descending, as PyTorch)."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        if not descending:
            return xp.argsort(data, axis=dim, kind="stable")
        flipped = xp.argsort(xp.flip(data, dim), axis=dim, kind="stable")
        return data.shape[dim] - 1 - xp.flip(flipped, dim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` of self sorted along ``dim`` (always stable here)."""
        dim = self._dim(dim)
        indices = self._sort_indices(dim, descending)
        if self.ndim == 0:
            return _result("sort", self.clone(), Tensor._wrap(indices.reshape(())))
        return _result("sort", IX.Gather.apply(self, index=indices, dim=dim, unique=True), Tensor._wrap(indices))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        dim = self._dim(dim)
        return Tensor._wrap(self._sort_indices(dim, descending).reshape(self.shape))

    def msort(self) -> Tensor:
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, in order."""
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {dim} of size {size}")
        indices = self._top_indices(k, dim, largest)
        if self.ndim == 0:
            values = self.clone() if k else self.reshape(1)[:0]
            return _result("topk", values, Tensor._wrap(indices.reshape(()) if k else indices))
        return _result("topk", IX.Gather.apply(self, index=indices, dim=dim, unique=True), Tensor._wrap(indices))

    def _top_indices(self, k: int, dim: int, largest: bool) -> Any:
        """Indices of the k largest (smallest) along ``dim``, in order: a partition then a sort of the k when
        k is a small part of the axis (O(n) instead of O(n log n)), a full stable sort otherwise."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        size = data.shape[dim]
        head = (slice(None),) * dim + (slice(0, k),)
        if 0 < k and 4 * k <= size and data.dtype.kind in "fi" and not bool(xp.isnan(data).any()):
            key = -data if largest else data
            part = xp.argpartition(key, k - 1, axis=dim)[head]
            order = xp.argsort(xp.take_along_axis(key, part, axis=dim), axis=dim, kind="stable")
            return xp.take_along_axis(part, order, axis=dim)
        return self._sort_indices(dim, largest)[head]

    def _cumulative(self, function: Any, dim: int, dtype: Any) -> Tensor:
        dim = self._dim(dim)
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind in "biu" and dtype is None:
            source = source.long()
        if source.ndim == 0:
            return function.apply(source.reshape(1), axis=0).reshape(())
        return function.apply(source, axis=dim)

    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        """out_k = self_0 + … + self_k along ``dim`` (integers and bools sum as int64)."""
        return self._cumulative(CU.Cumsum, dim, dtype)

    def cumprod(self, dim: int, dtype: Any = None) -> Tensor:
        """out_k = self_0 · … · self_k along ``dim``."""
        return self._cumulative(CU.Cumprod, dim, dtype)

    def tril(self, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got shape {tuple(self.shape)}")
        return IX.Triangle.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got shape {tuple(self.shape)}")
        return IX.Triangle.apply(self, diagonal=diagonal, upper=True)

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_op(lambda t: t.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_op(lambda t: t.triu(diagonal))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        dim1, dim2 = self._dim(dim1), self._dim(dim2)
        if dim1 == dim2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return IX.Diagonal.apply(self, offset=offset, dim1=dim1, dim2=dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-D tensor as the ``diagonal``-th diagonal of a square matrix, or a matrix's diagonal as 1-D."""
        if self.ndim == 1:
            return IX.DiagEmbed.apply(self, offset=diagonal)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D (shape {tuple(self.shape)})")

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """A tensor whose (dim1, dim2) matrices hold self's last axis on their ``offset`` diagonal."""
        n = self.ndim + 1
        d1, d2 = dim1 % n, dim2 % n
        if not (-n <= dim1 < n and -n <= dim2 < n):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                             f"{dim1 if not -n <= dim1 < n else dim2})")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        dims = (-2, -1) if (d1, d2) == (n - 2, n - 1) else (d1, d2)
        return IX.DiagEmbed.apply(self if self.ndim else self.reshape(1), offset=offset, dims=dims)

    def outer(self, vec2: Tensor) -> Tensor:
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D vectors, got shapes {tuple(self.shape)} and {tuple(vec2.shape)}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        if dims is None:
            if isinstance(shifts, tuple | list):
                if len(shifts) != 1:
                    raise RuntimeError(f"roll(): shifts {tuple(shifts)} need dims of the same length")
                shifts = shifts[0]
            return IX.Roll.apply(self, shifts=int(shifts), dims=None)
        shifts = tuple(shifts) if isinstance(shifts, tuple | list) else (int(shifts),)
        dims = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        return IX.Roll.apply(self, shifts=shifts, dims=tuple(self._dim(d) for d in dims))

    def repeat_interleave(self, repeats: Any = None, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        """Each element (or slice along ``dim``) repeated ``repeats`` times (an int or one count per slice)."""
        xp = backend_of(self.array).xp
        source = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else self._dim(dim)
        size = source.shape[dim] if source.ndim else 1
        counts = _data(repeats)
        if hasattr(counts, "dtype") and counts.ndim == 1 and counts.shape[0] != size:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, "
                               f"got {counts.shape[0]} repeats for size {size}")
        if hasattr(counts, "dtype"):  # NOTE: CuPy's repeat takes counts as an int or a host list, not an array
            counts = backend_of(counts).to_host(counts).tolist()
        if min(counts if isinstance(counts, list) else [counts], default=0) < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        index = xp.repeat(xp.arange(size), counts)
        if source.ndim == 0:
            source = source.reshape(1)
        return IX.IndexSelect.apply(source, index=index, dim=dim)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        found = xp.nonzero(data)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype("int64")) for i in found)
        if self.ndim == 0:
            return Tensor._wrap(xp.zeros((found[0].shape[0], 0), dtype="int64"))
        return Tensor._wrap(xp.stack(found, axis=1).astype("int64"))

    def argwhere(self) -> Tensor:
        return self.nonzero()

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
               dim: int | None = None) -> Any:
        """The distinct values (sorted), with the inverse indices and counts when asked, as PyTorch."""
        xp = backend_of(self.array).xp
        axis = None if dim is None else self._dim(dim)
        found = xp.unique(self.array, return_inverse=True, return_counts=True, axis=axis)
        values, inverse, counts = found
        inverse = inverse.reshape(self.shape if axis is None else (-1,)).astype("int64")
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap(inverse))
        if return_counts:
            out.append(Tensor._wrap(counts.astype("int64")))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        """How often each non-negative int value occurs (or the sum of ``weights`` at it)."""
        if self.ndim != 1 or self.array.dtype.kind not in "iub":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got shape "
                               f"{tuple(self.shape)} of {self.dtype}")
        if self.array.size and bool((self.array < 0).any()):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        xp = backend_of(self.array).xp
        w = _data(weights)
        out = xp.bincount(self.array, weights=w, minlength=minlength)
        if w is None:
            return Tensor._wrap(out.astype("int64"))
        return Tensor._wrap(out.astype(w.dtype if w.dtype.kind == "f" else "float64"))

    def einsum(self, equation: str, *operands: Any) -> Tensor:  # not a PyTorch method; used by shenjing.einsum
        return EI.Einsum.apply(self, *operands, equation=equation)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (batch1 @ batch2) for (b, n, m) and (b, m, p) batches."""
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor, got shapes {tuple(batch1.shape)} and "
                               f"{tuple(batch2.shape)}")
        product = batch1.matmul(batch2)
        product = product if alpha == 1 else product * alpha
        return product if beta == 0 else (self if beta == 1 else self * beta) + product

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (mat1 @ mat2)."""
        product = mat1.matmul(mat2)
        product = product if alpha == 1 else product * alpha
        return product if beta == 0 else (self if beta == 1 else self * beta) + product

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
        """Indices drawn from each row's categories, with probabilities proportional to the row's weights.

        With replacement: inverse-CDF draws. Without: the Gumbel-top-k trick in its exponential-race form
        (the k smallest of Eᵢ / wᵢ, Eᵢ ~ Exp(1), i.e. the k largest of log wᵢ + Gumbel noise, are a draw of
        k categories without replacement, in order of draw).
        """
        if self.ndim not in (1, 2):
            raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(self.shape)}")
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {self.dtype}")
        backend = backend_of(self.array)
        xp = backend.xp
        weights = self.array.reshape(-1, self.shape[-1]).astype("float64")
        categories = weights.shape[1]
        if num_samples <= 0:
            raise RuntimeError("multinomial: cannot sample n_sample <= 0 samples")
        if not replacement and num_samples > categories:
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        if not bool(xp.isfinite(weights).all()) or bool((weights < 0).any()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if bool((weights.sum(axis=1) <= 0).any()):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = backend.generator if generator is None else generator.rng
        if replacement:
            cdf = xp.cumsum(weights, axis=1)
            cdf = cdf / cdf[:, -1:]
            u = rng.random((weights.shape[0], num_samples))
            if u.size * categories <= 1 << 22:  # one comparison of every draw with every bound
                out = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
            else:  # the same count of bounds ≤ u, by binary search row by row
                out = xp.stack([xp.searchsorted(c, d, side="right") for c, d in zip(cdf, u)])
        else:
            if bool(((weights > 0).sum(axis=1) < num_samples).any()):
                raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough non-negative "
                                   "category to sample)")
            arrival = -xp.log1p(-rng.random(weights.shape)) / xp.where(weights > 0, weights, 1)
            arrival[weights == 0] = float("inf")  # NOTE: a zero weight never arrives
            out = xp.argsort(arrival, axis=1, kind="stable")[:, :num_samples]
        out = out.astype("int64")
        return Tensor._wrap(out.reshape(-1) if self.ndim == 1 else out)
    def take(self, index: Any) -> Tensor:
        """The elements of self at flat (C-order) positions ``index``, in ``index``'s shape."""
        index = self._index(index, "take", ndim=False)
        flat = self.reshape(-1)
        if index.size and (bool((index >= flat.shape[0]).any()) or bool((index < -flat.shape[0]).any())):
            raise IndexError(f"take(): index out of range for tensor of {flat.shape[0]} elements")
        positions = index.reshape(-1) % max(flat.shape[0], 1)
        return IX.IndexSelect.apply(flat, index=positions, dim=0).reshape(index.shape)

    def trace(self) -> Tensor:
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        """A copy of self with the slices at the 1-D ``index`` along ``dim`` set to ``value``."""
        dim = self._dim(dim)
        index = self._index(index, "index_fill", ndim=False).reshape(-1)
        self._check_bounds(index, dim, "index_fill", IndexError)
        xp = backend_of(self.array).xp
        mask = xp.zeros(self.shape[dim] if self.ndim else 1, dtype=bool)
        mask[index] = True
        return self.masked_fill(mask.reshape((-1,) + (1,) * (self.ndim - dim - 1)), value)

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        return self._inplace_op(lambda t: t.index_fill(dim, index, value), value)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)`` of the k-th smallest element (k from 1) along ``dim``."""
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {dim} of size {size}")
        return self._order_statistic(k - 1, dim, keepdim, "kthvalue")

    def _order_statistic(self, rank: int, dim: int, keepdim: bool, name: str = "median") -> Any:
        source = self if self.ndim else self.reshape(1)
        indices = source._sort_indices(dim, False)[(slice(None),) * dim + (slice(rank, rank + 1),)]
        values = IX.Gather.apply(source, index=indices, dim=dim, unique=True)
        if not keepdim or self.ndim == 0:
            shape = self.shape[:dim] + self.shape[dim + 1:]
            values, indices = values.reshape(shape), indices.reshape(shape)
        return _result(name, values, Tensor._wrap(indices))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median of all elements, or ``(values, indices)`` of the lower medians along ``dim``."""
        if dim is None:
            flat = self.reshape(-1)
            if flat.shape[0] == 0:
                return Tensor._wrap(backend_of(self.array).xp.asarray(float("nan"), dtype=self.dtype))
            return flat._order_statistic((flat.shape[0] - 1) // 2, 0, False).values
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        return self._order_statistic((size - 1) // 2, dim, keepdim)

    # ---- end of issue-9 ops ----------------------------------------------------------------------------------


autograd._Tensor = Tensor

_activation_module = None


def _activations() -> Any:
    """``nn.activation``, imported on first use (it sits above tensor.py in the import order)."""
    global _activation_module
    if _activation_module is None:
        from .nn import activation

        _activation_module = activation
    return _activation_module


_inplace_module = None


def _inplace_ops() -> Any:
    """``autograd.inplace`` (recording in-place writes in graphs), imported on first use."""
    global _inplace_module
    if _inplace_module is None:
        from .autograd import inplace

        _inplace_module = inplace
    return _inplace_module


def _inplace_graph(self: Tensor, compute: Any) -> Tensor:
    return _inplace_ops().rebase(self, compute)


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


class Compare:
    """Not a Function: the name under which a tracer (shenjing.onnx) sees the unrecorded ops of :func:`_compare`."""


def _compare(op: Any, a: Any, b: Any) -> Tensor:
    """``op(a, b)`` on the arrays, unrecorded, in the dtype ``torch.result_type`` gives (comparisons, //, %)."""
    out = Tensor._wrap(op(*promote(_data(a), _data(b))))
    if autograd._grad_mode.tracer is not None:
        autograd._grad_mode.tracer(Compare, None, (a, b), {"op": op}, out)
    return out


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return backend_of(data.array).to_host(data.array)
    if isinstance(data, list | tuple):
        return [_unwrap_nested(d) for d in data]
    return data


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def _result(name: str, values: Tensor, indices: Tensor) -> Any:
    """``(values, indices)`` of sort/topk/kthvalue/median as ``shenjing.return_types.<name>``."""
    return return_types.return_type(name)(values, indices)
