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
        self._retains_grad = True

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Compute ∂self/∂x for every leaf x that requires grad, accumulating into ``x.grad``."""
        autograd.backward(self, gradient, retain_graph=retain_graph)

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
        # NOTE: outside a recorded graph `x += y` updates x's array in place; inside one it records
        # out-of-place and rebinds the name, which gives the same gradients without version counters.
        tracked = self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
        if tracked and autograd.is_grad_enabled():
            return op.apply(self, other)
        getattr(self.array, method)(_data(other))
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
        return Tensor._wrap(~self.array)

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

    mm = matmul
    bmm = matmul

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
        return E.Where.apply(_data(mask), value, self)

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
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                "item assignment into a tensor that requires grad is not recorded for backward; build the new "
                "values with shenjing.where(mask, new, old) or torch-style masked_fill instead, or assign under "
                "shenjing.no_grad()."
            )
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        self.array[_data(index)] = _data(value)

    # ---- in-place updates (outside the graph: initialisation, optimizers) ---------------------------------
    def _check_inplace(self) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in "
                "`with shenjing.no_grad():`."
            )

    def zero_(self) -> Tensor:
        self._check_inplace()
        self.array[...] = 0
        return self

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace()
        self.array[...] = _data(value)
        return self

    def copy_(self, source: Any) -> Tensor:
        self._check_inplace()
        src = _data(source)
        if not isinstance(src, backend_of(self.array).array_types):
            src = backend_of(self.array).from_host(backend_of(src).to_host(src)) if hasattr(src, "shape") else src
        self.array[...] = src
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        self._check_inplace()
        self.array += _data(other) * alpha if alpha != 1 else _data(other)
        return self

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        self._check_inplace()
        self.array *= _data(other)
        return self

    def div_(self, other: Any) -> Tensor:
        self._check_inplace()
        self.array /= _data(other)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        self._check_inplace()
        backend_of(self.array).xp.clip(self.array, min, max, out=self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        self._check_inplace()
        backend = backend_of(self.array)
        self.array[...] = backend.generator.uniform(a, b, size=self.array.shape).astype(self.array.dtype)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        self._check_inplace()
        backend = backend_of(self.array)
        self.array[...] = backend.generator.normal(mean, std, size=self.array.shape).astype(self.array.dtype)
        return self


autograd._Tensor = Tensor

_activation_module = None


def _activations() -> Any:
    """``nn.activation``, imported on first use (it sits above tensor.py in the import order)."""
    global _activation_module
    if _activation_module is None:
        from .nn import activation

        _activation_module = activation
    return _activation_module


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


def _compare(op: Any, a: Any, b: Any) -> Tensor:
    """``op(a, b)`` on the arrays, unrecorded, in the dtype ``torch.result_type`` gives (comparisons, //, %)."""
    return Tensor._wrap(op(*promote(_data(a), _data(b))))


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return backend_of(data.array).to_host(data.array)
    if isinstance(data, list | tuple):
        return [_unwrap_nested(d) for d in data]
    return data


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)
