"""Type promotion as PyTorch's ``torch.result_type``: a matrix of dtype pairs against torch 2.13.

Each pair is tried as tensor/tensor, tensor/0-d tensor, 0-d tensor/tensor and tensor/Python number, and
both the promoted dtype (``result_type``) and the actual dtype and values of the ops are compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, 2.5]
PAIRS = [(a, b) for a in DTYPES for b in DTYPES]


def _values(dtype: str, shape: tuple) -> np.ndarray:
    """Small positive values (1, 2, 3, ...) that every op and dtype takes without overflow."""
    return (np.arange(int(np.prod(shape))).reshape(shape) % 3 + 1).astype(dtype)


def _pair(a: str, b: str, shapes: tuple) -> tuple:
    x, y = _values(a, shapes[0]), _values(b, shapes[1])
    return (shenjing.tensor(x), shenjing.tensor(y)), (torch.tensor(x), torch.tensor(y))


def _torch_name(dtype: object) -> str:
    return str(dtype).removeprefix("torch.")


OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
    "maximum": (shenjing.maximum, torch.maximum),
    "where": (lambda a, b: shenjing.where(shenjing.tensor([True, False, True]), a, b),
              lambda a, b: torch.where(torch.tensor([True, False, True]), a, b)),
    "lt": (lambda a, b: a < b, lambda a, b: a < b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "floordiv": (lambda a, b: a // b, lambda a, b: a // b),
    "mod": (lambda a, b: a % b, lambda a, b: a % b),
    "and": (lambda a, b: a & b, lambda a, b: a & b),
    "or": (lambda a, b: a | b, lambda a, b: a | b),
    "eq": (lambda a, b: a == b, lambda a, b: a == b),
}


def _check_op(name: str, sj_args: tuple, t_args: tuple) -> None:
    sj_fn, t_fn = OPS[name]
    try:
        expected = t_fn(*t_args)
    except RuntimeError:
        return  # torch refuses this pair (e.g. bool ** bool); nothing to match
    got = sj_fn(*sj_args)
    assert str(got.dtype) == "shenjing." + _torch_name(expected.dtype), (name, sj_args, got.dtype, expected.dtype)
    np.testing.assert_allclose(got.numpy().astype("float64"), expected.numpy().astype("float64"), rtol=1e-3)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((3,), ()), ((), (3,)), ((), ())],
                         ids=["tensor-tensor", "tensor-0d", "0d-tensor", "0d-0d"])
@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_result_type_and_op_dtypes_match_torch(a: str, b: str, shapes: tuple) -> None:
    (x, y), (tx, ty) = _pair(a, b, shapes)
    assert str(shenjing.result_type(x, y)) == "shenjing." + _torch_name(torch.result_type(tx, ty))
    for name in OPS:
        _check_op(name, (x, y), (tx, ty))


@pytest.mark.parametrize("scalar", SCALARS, ids=["bool", "int", "float"])
@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("side", ["left", "right"])
def test_python_numbers_never_widen_a_tensor(a: str, scalar: object, side: str) -> None:
    x, tx = shenjing.tensor(_values(a, (3,))), torch.tensor(_values(a, (3,)))
    sj_args, t_args = ((x, scalar), (tx, scalar)) if side == "left" else ((scalar, x), (scalar, tx))
    assert str(shenjing.result_type(*sj_args)) == "shenjing." + _torch_name(torch.result_type(*t_args))
    for name in ("add", "mul", "div", "pow", "lt", "eq", "sub", "floordiv", "mod", "and"):
        _check_op(name, sj_args, t_args)
    t_where = torch.where(torch.tensor([True, False, True]), *t_args)
    assert shenjing.where(shenjing.tensor([True, False, True]), *sj_args).dtype == getattr(shenjing, _torch_name(
        t_where.dtype))


@pytest.mark.parametrize("a", SCALARS, ids=["bool", "int", "float"])
@pytest.mark.parametrize("b", SCALARS, ids=["bool", "int", "float"])
def test_where_of_two_python_numbers_matches_torch(a: object, b: object) -> None:
    """``torch.where(p > 0.5, 1, 0)`` (siamese_network's prediction): a tensor of the numbers' own dtype."""
    p, tp = shenjing.tensor([0.2, 0.7, 0.9]), torch.tensor([0.2, 0.7, 0.9])
    got, want = shenjing.where(p > 0.5, a, b), torch.where(tp > 0.5, a, b)
    assert str(got.dtype) == "shenjing." + _torch_name(want.dtype) and got.tolist() == want.tolist()
    assert [i.tolist() for i in shenjing.where(p > 0.5)] == [i.tolist() for i in torch.where(tp > 0.5)]


def test_the_rules_that_real_programs_meet() -> None:
    x = shenjing.ones(3)
    idx = shenjing.tensor([1, 2, 3])
    assert (x * idx).dtype == shenjing.float32  # NumPy would say float64, and the next Linear would refuse it
    assert x.pow(idx).dtype == shenjing.float32
    assert (x * 2.0).dtype == shenjing.float32
    assert (shenjing.tensor([1, 2], dtype=shenjing.int32) + 5).dtype == shenjing.int32
    assert (idx * 0.5).dtype == shenjing.float32 and (idx / 2).dtype == shenjing.float32
    assert (x + shenjing.tensor(1.0, dtype=shenjing.float64)).dtype == shenjing.float32  # 0-d ranks lower
    assert (idx + shenjing.tensor(1.0, dtype=shenjing.float64)).dtype == shenjing.float64  # ... unless higher category
    assert (x.half() + x).dtype == shenjing.float32


def test_true_division_of_ints_gives_the_default_float() -> None:
    shenjing.set_default_dtype(shenjing.float64)
    try:
        assert (shenjing.tensor([1, 2]) / shenjing.tensor([2, 4])).dtype == shenjing.float64
        assert (shenjing.tensor([1, 2]) * 0.5).dtype == shenjing.float64
    finally:
        shenjing.set_default_dtype(shenjing.float32)
    assert (shenjing.tensor([1, 2]) / 3).dtype == shenjing.float32


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_promote_types_and_can_cast_match_torch(a: str, b: str) -> None:
    sa, sb, ta, tb = getattr(shenjing, a), getattr(shenjing, b), getattr(torch, a), getattr(torch, b)
    assert str(shenjing.promote_types(sa, sb)) == "shenjing." + _torch_name(torch.promote_types(ta, tb))
    assert shenjing.can_cast(sa, sb) == torch.can_cast(ta, tb)


@pytest.mark.parametrize(("a", "low"), [("int64", 0.5), ("int32", 1), ("float32", 1), ("float16", 2.0),
                                        ("int64", "t_float32"), ("float32", "t_float64")])
def test_clamp_promotes_as_torch(a: str, low: object) -> None:
    x, tx = shenjing.tensor(_values(a, (4,))), torch.tensor(_values(a, (4,)))
    if isinstance(low, str):
        sj_low, t_low = shenjing.tensor([2.0], dtype=low[2:]), torch.tensor([2.0], dtype=getattr(torch, low[2:]))
    else:
        sj_low = t_low = low
    got, expected = shenjing.clamp(x, min=sj_low), torch.clamp(tx, min=t_low)
    assert str(got.dtype) == "shenjing." + _torch_name(expected.dtype)
    np.testing.assert_allclose(got.numpy().astype("float64"), expected.numpy().astype("float64"))


def test_gradients_flow_through_promoted_ops() -> None:
    w = shenjing.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * shenjing.tensor([1, 2, 3])).sum().backward()
    assert w.grad.dtype == shenjing.float32
    np.testing.assert_array_equal(w.grad.numpy(), [1, 2, 3])
    h = shenjing.tensor([1.0, 2.0], dtype=shenjing.float16, requires_grad=True)
    (h * shenjing.tensor([3.0, 4.0])).sum().backward()
    assert h.grad.dtype == shenjing.float16
