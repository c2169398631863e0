"""Top-level math functions (``shenjing.cat``, ``shenjing.exp``, ...): thin PyTorch-named forms of Tensor methods."""

from __future__ import annotations

from typing import Any

from . import _tensor_math_more as _math_more
from .dtypes import result_type
from .ops import elementwise as E
from .ops import shape as S
from .tensor import Tensor, _data, tensor

_MORE_NAMES = (
    "chunk split unbind narrow select flip movedim moveaxis swapaxes swapdims t tile broadcast_to sign rsqrt "
    "floor ceil round trunc frac fix any all lerp addcmul addcdiv gt ge lt le ne eq greater greater_equal less "
    "less_equal not_equal logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
    "bitwise_not remainder floor_divide norm is_floating_point count_nonzero prod erf erfinv nan_to_num "
    "isclose inner dist tensor_split hsplit vsplit fmod cross histc mode"
).split()
_MORE_NAMES += _math_more.FUNCTION_NAMES  # acos, atan2, logaddexp, cummax, ... (see _tensor_math_more.py)
_MORE_NAMES += (  # torch.add(a, b), torch.clone(x), torch.relu_(x), ...
    "add sub mul div neg clone detach clamp_min clamp_max unflatten ceil_ clamp_max_ clamp_min_ clip_ detach_ fill_ "
    "floor_ relu_ round_ sigmoid_ tanh_ trunc_ zero_ "
    "index_copy index_put index_put_ masked_scatter put quantile nanquantile nanmedian cov corrcoef addmv addmv_ "
    "addr addbmm bernoulli unique_consecutive gcd lcm gcd_ lcm_ resize_as_"
).split()

__all__ = [
    "cat", "concat", "concatenate", "stack", "where", "maximum", "minimum", "exp", "log", "sqrt", "abs", "sin",
    "cos", "clamp", "clip", "matmul", "sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp",
    "argmax", "argmin", "reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "sigmoid", "tanh",
    "relu", "softmax", "log_softmax", "allclose", "equal", "isnan", "isinf", "isfinite", "numel", "square",
    "pad_constant",
    # issue 9: indexing, sorting, cumulative ops, einsum
    "gather", "take_along_dim", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "masked_fill", "masked_select", "sort", "argsort", "msort", "topk", "cumsum", "cumprod", "tril", "triu",
    "diagonal", "diag", "outer", "ger", "roll", "repeat_interleave", "nonzero", "argwhere", "unique", "bincount",
    "einsum", "mm", "mv", "dot", "bmm", "baddbmm", "addmm", "multinomial", "one_hot", "take", "trace", "index_fill", "kthvalue",
    "median", "searchsorted", "bucketize", "diag_embed", "tril_indices", "triu_indices",
    "hstack", "vstack", "row_stack", "dstack", "column_stack", "meshgrid", "broadcast_tensors", "broadcast_shapes", "atleast_1d",
    "atleast_2d", "atleast_3d", "std_mean", "var_mean", "logspace", "pow",
    *_MORE_NAMES,
]


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    first = tensors[0]
    axis = dim % (first.ndim or 1)
    for number, t in enumerate(tensors[1:], 1):  # PyTorch's messages, before NumPy's ValueError could escape
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}")
        for k, (want, got) in enumerate(zip(first.shape, t.shape)):
            if k != axis and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size {want} but got size "
                    f"{got} for tensor number {number} in the list."
                )
    return S.Cat.apply(*tensors, axis=axis)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of Tensors")
    return S.Stack.apply(*tensors, axis=dim % (tensors[0].ndim + 1))


_NOT_GIVEN = object()


def where(condition: Any, input: Any = _NOT_GIVEN, other: Any = _NOT_GIVEN) -> Any:  # noqa: A002 - PyTorch's name
    """``input`` where ``condition`` holds, else ``other`` (broadcast); ``where(condition)`` is
    ``condition.nonzero(as_tuple=True)``. Two Python numbers give a tensor of their dtype (int64, the default
    float, bool) on the condition's device: ``where(p > 0.5, 1, 0)``."""
    if input is _NOT_GIVEN and other is _NOT_GIVEN:
        return (condition if isinstance(condition, Tensor) else tensor(condition)).nonzero(as_tuple=True)
    if input is _NOT_GIVEN or other is _NOT_GIVEN:
        raise TypeError("where() expected (condition), or (condition, input, other)")
    cond = _data(condition)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        device = condition.device if isinstance(condition, Tensor) else None
        input = tensor(input, dtype=result_type(input, other), device=device)
    return E.Where.apply(cond, input, other)


def maximum(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return E.Maximum.apply(input, other)


def minimum(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return E.Minimum.apply(input, other)


def pad_constant(input: Tensor, pad_width: tuple, value: float = 0.0) -> Tensor:  # noqa: A002
    """``input`` surrounded by ``value``; ``pad_width`` is ((before, after), ...) per axis as NumPy's pad."""
    return S.Pad.apply(input, pad_width=tuple(pad_width), value=value)


def _method(name: str) -> Any:
    def function(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        result = getattr(input, name)(*args, **kwargs)
        return result if out is None else _write_out(name, result, out)

    function.__name__ = name
    function.__doc__ = (f"``shenjing.{name}(x, ...)`` is ``x.{name}(...)``; see :meth:`Tensor.{name}`. ``out=`` "
                        "writes the result into a given tensor, as PyTorch's.")
    return function


def _write_out(name: str, result: Any, out: Any) -> Any:
    """PyTorch's ``out=``: the result written into ``out`` (resized, with PyTorch's warning, when its shape
    differs; a cast only within the same kind: float into an int tensor is refused, as PyTorch)."""
    import warnings

    from . import autograd
    from .backend import backend_of

    if isinstance(result, tuple):  # (values, indices): out is a pair of tensors
        if not isinstance(out, tuple | list) or len(out) != len(result):
            raise TypeError(f"{name}(): out must be a tuple of {len(result)} Tensors")
        written = tuple(_write_out(name, r, o) for r, o in zip(result, out))
        return type(result)(*written) if hasattr(result, "_fields") else written
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if autograd.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    xp = backend_of(out.array).xp
    if not xp.can_cast(result.array.dtype, out.array.dtype, casting="same_kind"):
        raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    if tuple(out.shape) != tuple(result.shape):
        if out.array.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                          f"which does not match the required output shape {list(result.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                          "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                          "elements with t.resize_(0).", UserWarning, stacklevel=3)
        out.array = result.array.astype(out.array.dtype, copy=True)
    else:
        out.array[...] = result.array
    autograd.bump_version(out.array)
    return out


def pow(input: Any, exponent: Any, *, out: Any = None) -> Tensor:  # noqa: A001,A002 - PyTorch's name
    """input ** exponent; ``input`` may be a Python number (``torch.pow(2, t)``)."""
    result = input ** exponent if isinstance(input, Tensor) else exponent.__rpow__(input)
    return result if out is None else _write_out("pow", result, out)


exp, log, sqrt, abs, sin, cos, square = (_method(n) for n in ("exp", "log", "sqrt", "abs", "sin", "cos", "square"))
clamp = clip = _method("clamp")
matmul = _method("matmul")
sum, mean, max, min, amax, amin = (_method(n) for n in ("sum", "mean", "max", "min", "amax", "amin"))
var, std, logsumexp, argmax, argmin = (_method(n) for n in ("var", "std", "logsumexp", "argmax", "argmin"))
reshape, flatten, transpose, permute = (_method(n) for n in ("reshape", "flatten", "transpose", "permute"))
squeeze, unsqueeze = _method("squeeze"), _method("unsqueeze")
sigmoid, tanh, relu = _method("sigmoid"), _method("tanh"), _method("relu")
softmax, log_softmax = _method("softmax"), _method("log_softmax")
# the rest of the method-shaped functions programs call (torch.X(t, ...) is t.X(...))
globals().update({_name: _method(_name) for _name in _MORE_NAMES})
globals().update(_math_more.FUNCTIONS)  # the few whose first argument is n or may be a number


def hstack(tensors: Any) -> Tensor:
    """Join along the first dimension for 1-D tensors, the second for the others (``torch.hstack``)."""
    tensors = list(tensors)
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    """Join along the first dimension, 1-D tensors taken as rows (``torch.vstack``)."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Any) -> Tensor:
    """Join along the third dimension, after lifting each tensor to at least 3-D (``torch.dstack``)."""
    lifted = atleast_3d(*list(tensors))
    return cat(list(lifted) if isinstance(lifted, tuple) else [lifted], 2)


def column_stack(tensors: Any) -> Tensor:
    """1-D (and 0-D) tensors as columns, then join along the second dimension (``torch.column_stack``)."""
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids of 1-D tensors: output k varies along dimension k ('ij', PyTorch's default, with its
    warning when ``indexing`` is not given); 'xy' swaps the first two dimensions of every grid (expanded views)."""
    if len(tensors) == 1 and isinstance(tensors[0], tuple | list):
        tensors = tuple(tensors[0])
    if indexing is None:
        import warnings

        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing}")
    shape = tuple(int(t.numel()) for t in tensors)
    grids = []
    for k, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[k] = -1
        grid = t.reshape(*view).expand(*shape)
        grids.append(grid.transpose(0, 1) if indexing == "xy" and len(tensors) >= 2 else grid)
    return tuple(grids)


def broadcast_shapes(*shapes: Any) -> Any:
    from .backend import numpy as _numpy
    from .tensor import Size

    try:
        return Size(_numpy.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))
    except ValueError as error:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: {shapes}") from error


def broadcast_tensors(*tensors: Any) -> tuple:
    """Each tensor expanded (a view) to the shape all of them broadcast to."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) for t in tensors)


def atleast_1d(*tensors: Any) -> Any:
    out = [t.reshape(1) if t.ndim == 0 else t for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors: Any) -> Any:
    out = [t.reshape(1, -1) if t.ndim < 2 else t for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors: Any) -> Any:
    def lift(t: Tensor) -> Tensor:
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        return t.unsqueeze(-1) if t.ndim == 2 else t

    out = [lift(t) for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def _tensors(args: tuple) -> list:
    return list(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else list(args)


def std_mean(input: Tensor, dim: Any = None, *, correction: Any = 1, keepdim: bool = False) -> tuple:  # noqa: A002
    """(standard deviation, mean) in one call, as ``torch.std_mean``."""
    return input.std(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim=keepdim)


def var_mean(input: Tensor, dim: Any = None, *, correction: Any = 1, keepdim: bool = False) -> tuple:  # noqa: A002
    """(variance, mean) in one call, as ``torch.var_mean``."""
    return input.var(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim=keepdim)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values from base^start to base^end, evenly spaced in the exponent."""
    from .creation import linspace

    exponents = linspace(start, end, steps, dtype="float64", device=device)
    values = (base ** exponents).to(dtype if dtype is not None else "float32")
    return values.requires_grad_(requires_grad)


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:  # noqa: A002
    from .backend import backend_of

    return bool(backend_of(input.array).xp.allclose(input.array, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    return input.shape == other.shape and bool((input.array == other.array).all())


isnan, isinf, isfinite = _method("isnan"), _method("isinf"), _method("isfinite")


# ---- issue 9: indexing, sorting, cumulative ops, einsum (the methods are in tensor.py, the Functions in ops/) ------
gather, take_along_dim, index_select, masked_select = (
    _method(n) for n in ("gather", "take_along_dim", "index_select", "masked_select"))
scatter, scatter_add, scatter_reduce, index_add = (
    _method(n) for n in ("scatter", "scatter_add", "scatter_reduce", "index_add"))
masked_fill, sort, argsort, msort, topk = (_method(n) for n in ("masked_fill", "sort", "argsort", "msort", "topk"))
cumsum, cumprod, tril, triu = (_method(n) for n in ("cumsum", "cumprod", "tril", "triu"))
diagonal, diag, outer, ger, roll = (_method(n) for n in ("diagonal", "diag", "outer", "ger", "roll"))
nonzero, argwhere, unique, bincount = (_method(n) for n in ("nonzero", "argwhere", "unique", "bincount"))
baddbmm, addmm, multinomial = _method("baddbmm"), _method("addmm"), _method("multinomial")
diag_embed = _method("diag_embed")
take, trace, index_fill, kthvalue, median = (_method(n) for n in ("take", "trace", "index_fill", "kthvalue", "median"))


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,  # noqa: A002
                 side: str | None = None, sorter: Any = None) -> Tensor:
    """Where each value of ``input`` would be inserted to keep the last axis of ``sorted_sequence`` sorted."""
    from .backend import backend_of

    seq = sorted_sequence.array
    xp = backend_of(seq).xp
    if sorter is not None:
        seq = xp.take_along_axis(seq, _data(sorter), axis=-1)
    side = side or ("right" if right else "left")
    values = _data(input) if isinstance(input, Tensor) else xp.asarray(input)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=side)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {tuple(seq.shape)} and input value tensor {tuple(values.shape)}")
        rows_seq, rows_val = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = xp.stack([xp.searchsorted(a, v, side=side) for a, v in zip(rows_seq, rows_val)]).reshape(values.shape)
    return Tensor._wrap(xp.asarray(out).astype("int32" if out_int32 else "int64"))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:  # noqa: A002
    """The bucket of each value of ``input`` among the sorted 1-D ``boundaries`` (``right`` as torch)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Matrix product of an (n, m) and an (m, p) tensor (no broadcasting, as ``torch.mm``)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input.ndim}-D {tuple(input.shape)} and {mat2.ndim}-D "
                           f"{tuple(mat2.shape)}; use matmul or bmm for batches")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return input.matmul(mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """Matrix-vector product of an (n, m) matrix and an (m,) vector."""
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: expected an (n, m) matrix and an (m,) vector, got {tuple(input.shape)} and "
                           f"{tuple(vec.shape)}")
    return input.matmul(vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:  # noqa: A002
    """Inner product of two 1-D tensors of the same length."""
    if input.ndim != 1 or tensor.ndim != 1 or input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors of shapes "
                           f"{tuple(input.shape)} and {tuple(tensor.shape)}")
    return input.matmul(tensor)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: expected (b, n, m) and (b, m, p) tensors, got {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return input.matmul(mat2)


def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,  # noqa: A002
                      output_size: int | None = None) -> Tensor:
    """``input`` with each element repeated; ``repeat_interleave(counts)`` alone repeats 0, 1, … counts times."""
    if repeats is None:
        from .backend import backend_of

        xp = backend_of(input.array).xp
        return Tensor._wrap(xp.arange(input.shape[0]).astype("int64")).repeat_interleave(input)
    return input.repeat_interleave(repeats, dim, output_size=output_size)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation as ``torch.einsum``: "ij,jk->ik", "...", implicit outputs; operands or one list of them."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    return operands[0].einsum(equation, *operands[1:])


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor with one more last axis of size ``num_classes``: 1 at each index of ``tensor``, else 0."""
    from .backend import backend_of

    data = tensor.array
    if data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = backend_of(data).xp
    if data.size and bool((data < 0).any()):
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    elif data.size and int(data.max()) >= num_classes:
        raise RuntimeError(f"Class values must be smaller than num_classes ({num_classes}), got {int(data.max())}.")
    return Tensor._wrap((data[..., None] == xp.arange(num_classes)).astype("int64"))


def _triangle_indices(row: int, col: int, offset: int, dtype: Any, device: Any, upper: bool) -> Tensor:
    from .backend import as_dtype, get_backend

    xp = get_backend(device).xp
    rows, cols = (xp.triu_indices if upper else xp.tril_indices)(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(as_dtype(dtype or "int64")))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row × col matrix, row by row."""
    return _triangle_indices(row, col, offset, dtype, device, upper=False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row × col matrix, row by row."""
    return _triangle_indices(row, col, offset, dtype, device, upper=True)
