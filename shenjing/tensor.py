"""Tensor: an array, its gradient and the graph node that made it. Operators delegate to ``ops/``; no math here."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from . import autograd
from .backend import NUMPY, Device, as_dtype, backend_of, get_backend, get_default_dtype, is_device
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S

__all__ = ["Tensor", "tensor", "is_tensor"]

values_indices = namedtuple("values_indices", ["values", "indices"])


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

    def __init__(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> None:
        made = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.array, self.grad, self.requires_grad, self._ctx = made.array, None, made.requires_grad, None

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
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self) -> Any:
        return self.array.dtype

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
        return self.array.shape if dim is None else self.array.shape[dim]

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
        return str(self.dtype) if dtype is None else self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

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
            extras.append(f"dtype=shenjing.{self.dtype}")
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
        return Tensor._wrap(self.array // _data(other))

    def __mod__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array % _data(other))

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
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._wrap(self.array == _data(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._wrap(self.array != _data(other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array < _data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array <= _data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array > _data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array >= _data(other))

    def __invert__(self) -> Tensor:
        return Tensor._wrap(~self.array)

    def __and__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array & _data(other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.array | _data(other))

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
        if dim is None:
            return R.Amax.apply(self, axes=None, keepdim=False, minimum=minimum)
        if isinstance(dim, Tensor):  # max(other) is the element-wise maximum, as PyTorch
            return (E.Minimum if minimum else E.Maximum).apply(self, dim)
        (axis,) = R.normalize_axis(dim, self.ndim)
        values = R.MaxAlong.apply(self, axis=axis, keepdim=keepdim, minimum=minimum)
        xp = backend_of(self.array).xp
        picked = (self.array.argmin if minimum else self.array.argmax)(axis=axis)
        indices = xp.expand_dims(picked, axis) if keepdim else picked
        return values_indices(values, Tensor._wrap(indices))

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
        if self._in_graph(value):
            return _inplace_graph(self, lambda old: old.masked_fill(mask, value))
        self.array[_data(mask)] = _data(value)
        autograd.bump_version(self.array)
        return self

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
        dtype('float32')
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
        backend = backend or NUMPY
        array = backend.from_host(host) if backend is not NUMPY else host
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
