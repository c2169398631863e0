"""Factories for new tensors: constants, ranges and random draws (from the backend's seeded generator)."""

from __future__ import annotations

from typing import Any

from .autograd import _grad_mode
from .backend import as_dtype, backend_of, get_backend, get_default_dtype
from .random import rng_of
from .tensor import Tensor, _dims, tensor

__all__ = [
    "zeros", "ones", "full", "empty", "eye", "arange", "linspace", "rand", "randn", "randint", "randperm",
    "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "from_numpy", "as_tensor",
    "normal", "bernoulli", "randint_like",
]


def _float_dtype(dtype: Any) -> Any:
    return as_dtype(get_default_dtype() if dtype is None else dtype)


class Creation:
    """Not a Function: the name under which a tracer (shenjing.onnx) sees tensors made from Python numbers (whose
    sizes may follow an input's shape: ``arange(T)``, ``zeros(N, H)``)."""


def _seen(out: Tensor, **options: Any) -> Tensor:
    if _grad_mode.tracer is not None:
        _grad_mode.tracer(Creation, None, (), options, out)
    return out


def _make(array: Any, requires_grad: bool) -> Tensor:
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    return _seen(_make(xp.zeros(_dims(size), dtype=_float_dtype(dtype)), requires_grad), kind="full", value=0)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    return _seen(_make(xp.ones(_dims(size), dtype=_float_dtype(dtype)), requires_grad), kind="full", value=1)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    return _make(xp.empty(_dims(size), dtype=_float_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    if dtype is None:
        dtype = "bool" if isinstance(fill_value, bool) else "int64" if isinstance(fill_value, int) else None
    out = _make(xp.full(tuple(size), fill_value, dtype=_float_dtype(dtype)), requires_grad)
    return _seen(out, kind="full", value=fill_value)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    return _make(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end``; int64 for integer arguments, as PyTorch."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, int) for v in (start, end, step))
        dtype = "int64" if integral else get_default_dtype()
    xp = get_backend(device).xp
    out = _make(xp.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)
    return _seen(out, kind="arange", start=start, end=end, step=step)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    return _make(xp.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Tensor:
    """Uniform on [0, 1), from ``generator`` (a :class:`shenjing.Generator`) or the seeded default one.

    Same seed, same numbers; not the numbers PyTorch draws for that seed (see ``shenjing.random``).
    """
    backend = get_backend(device)
    rng = rng_of(generator, backend)
    return _make(rng.random(_dims(size), dtype=_float_dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Tensor:
    """Standard normal N(0, 1), from ``generator`` or the seeded default one (see :func:`rand`)."""
    backend = get_backend(device)
    rng = rng_of(generator, backend)
    return _make(rng.standard_normal(_dims(size), dtype=_float_dtype(dtype)), requires_grad)


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = None, device: Any = None,
            generator: Any = None) -> Tensor:
    if size is None:
        low, high, size = 0, low, high
    backend = get_backend(device)
    rng = rng_of(generator, backend)
    return Tensor._wrap(rng.integers(low, high, size=tuple(size)).astype(as_dtype(dtype or "int64")))


def randperm(n: int, dtype: Any = None, device: Any = None, generator: Any = None) -> Tensor:
    backend = get_backend(device)
    rng = rng_of(generator, backend)
    return Tensor._wrap(rng.permutation(n).astype(as_dtype(dtype or "int64")))


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Draws from N(mean, std²), as ``torch.normal``: ``mean`` and ``std`` Tensors (broadcast together, the
    result has their shape and dtype) or numbers with ``size``."""
    means, stds = getattr(mean, "array", mean), getattr(std, "array", std)
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if tensors:
        backend = backend_of(tensors[0].array)
        shape = backend.xp.broadcast_shapes(getattr(means, "shape", ()), getattr(stds, "shape", ()))
        dtype = tensors[0].dtype if dtype is None else dtype
    else:
        if size is None:
            raise TypeError("normal(): with a float mean and std, give the result's size, e.g. normal(0, 1, (2, 3))")
        backend, shape = get_backend(device), tuple(size)
    if (backend.xp.asarray(stds) < 0).any():
        raise RuntimeError(f"normal expects all elements of std >= 0.0, got std={std}")
    dtype = _float_dtype(dtype)
    draws = rng_of(generator, backend).standard_normal(shape, dtype=dtype if dtype.itemsize >= 4 else "float32")
    return _make((draws * stds + means).astype(dtype), requires_grad)


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """1 with probability ``input`` (or ``p``), else 0, element-wise, in ``input``'s dtype (``torch.bernoulli``)."""
    probs = input.array if p is None else p
    if ((input.array < 0) | (input.array > 1)).any() if p is None else not 0 <= p <= 1:
        raise RuntimeError("bernoulli: expected all probabilities in [0, 1]")
    backend = backend_of(input.array)
    draws = rng_of(generator, backend).random(input.array.shape)
    return Tensor._wrap((draws < probs).astype(input.array.dtype))


def randint_like(t: Tensor, low: int = 0, high: Any = None, dtype: Any = None, generator: Any = None) -> Tensor:
    """Integers uniform in [low, high) of ``t``'s shape, dtype and device; ``randint_like(t, high)`` too."""
    if high is None:
        low, high = 0, low
    shape, dtype, device = _like(t, dtype)
    return randint(low, high, shape, dtype=dtype, device=device, generator=generator)


def _like(t: Tensor, dtype: Any) -> tuple:
    return t.shape, as_dtype(dtype) if dtype is not None else t.dtype, t.device


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(t, dtype)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing memory with a NumPy array (no copy), keeping its dtype."""
    return Tensor._wrap(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is one of that dtype and device."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if hasattr(data, "dtype") and hasattr(data, "shape") and device is None:
        from .backend import backend_of

        backend = backend_of(data)
        return Tensor._wrap(backend.asarray(data, dtype=None if dtype is None else as_dtype(dtype)))
    return tensor(data, dtype=dtype, device=device)
