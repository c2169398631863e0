"""The ops of ``shenjing/ops/elementwise_more.py`` and ``_tensor_math_more.py`` through the registry of test_ops.py
(PyTorch parity in float32 and float64, finite differences), plus dtypes, in-place forms, named tuples, special
values and the no-SciPy series. ``SEAM_OPS`` also runs in tests/test_backend_seam.py on the fake GPU."""

from __future__ import annotations

import numpy as np
import pytest
import test_ops as T
from fake_cupy import FakeGPUBackend, _call
from helpers import HAS_TORCH, check_gradients, check_torch, torch
from test_ops import Op, inputs_of

import shenjing
from shenjing import _tensor_inplace_more, _tensor_math_more, backend


def randn(*shape: int) -> np.ndarray:
    return T.rng.standard_normal(shape)


def uniform(low: float, high: float, *shape: int) -> np.ndarray:
    return T.rng.uniform(low, high, shape)


def away_from_zero(*shape: int) -> np.ndarray:
    x = T.rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.1)


def distinct(*shape: int) -> np.ndarray:
    n = int(np.prod(shape))
    return (T.rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def with_nans(*shape: int) -> np.ndarray:
    x = T.rng.standard_normal(shape)
    x[T.rng.random(shape) < 0.3] = np.nan
    return x


def _unary(name: str, inputs: object, **tol: dict) -> Op:
    """``x.name()``, ``shenjing.name(x)`` against ``torch.name(x)``."""
    return Op(name, lambda a: getattr(shenjing, name)(a), lambda a: getattr(torch, name)(a), inputs, tol=tol)


def _transpose_a_view_then_write(a: object) -> object:
    """h[1:] turned in place, then written: the write reaches h (torch's CopySlices)."""
    h = a * 1
    h[1:].transpose_(0, 1).mul_(2)
    return h


_SPECIAL_TOL = {"float32": {"fwd_rtol": 2e-3, "grad_rtol": 2e-3}}
# NOTE: torch's float64 trigamma (ψ′, polygamma(1) and the gradient of digamma) is accurate to ~5e-10 relative;
# SciPy's, which we use, to ~1e-16 (ψ′(1) = π²/6 = 1.6449340668482264: torch 1.6449340676383375)
_TRIGAMMA_TOL = {**_SPECIAL_TOL, "float64": {"fwd_rtol": 1e-8, "grad_rtol": 1e-8}}

MORE_OPS = [
    # inverse and hyperbolic trigonometry, angles
    _unary("acos", lambda: [uniform(-0.9, 0.9, 45, 65)]),
    _unary("asin", lambda: [uniform(-0.9, 0.9, 45, 65)]),
    _unary("atan", lambda: [randn(45, 65)]),
    _unary("tan", lambda: [uniform(-1.2, 1.2, 6, 7)]),
    _unary("sinh", lambda: [randn(6, 7)]),
    _unary("cosh", lambda: [randn(6, 7)]),
    _unary("asinh", lambda: [randn(6, 7)]),
    _unary("acosh", lambda: [uniform(1.1, 3.0, 6, 7)]),
    _unary("atanh", lambda: [uniform(-0.9, 0.9, 6, 7)]),
    _unary("arccos", lambda: [uniform(-0.9, 0.9, 5)]),
    _unary("arcsin", lambda: [uniform(-0.9, 0.9, 5)]),
    _unary("arctan", lambda: [randn(5)]),
    _unary("arcsinh", lambda: [randn(5)]),
    _unary("arccosh", lambda: [uniform(1.1, 3.0, 5)]),
    _unary("arctanh", lambda: [uniform(-0.9, 0.9, 5)]),
    _unary("deg2rad", lambda: [randn(6, 7) * 90]),
    _unary("rad2deg", lambda: [randn(6, 7)]),
    Op("acos_0d", lambda a: a.acos(), lambda a: a.acos(), lambda: [uniform(-0.9, 0.9)]),
    # exponentials and logarithms
    _unary("log2", lambda: [uniform(0.5, 2.0, 45, 65)]),
    _unary("log10", lambda: [uniform(0.5, 2.0, 6, 7)]),
    _unary("log1p", lambda: [uniform(-0.5, 2.0, 6, 7)]),
    _unary("expm1", lambda: [randn(6, 7)]),
    _unary("exp2", lambda: [randn(6, 7)]),
    _unary("logit", lambda: [uniform(0.05, 0.95, 6, 7)]),
    Op("logit_eps", lambda a: a.logit(eps=0.1), lambda a: a.logit(eps=0.1),
       lambda: [np.array([0.02, 0.05, 0.3, 0.5, 0.8, 0.95, 0.97])]),
    _unary("sinc", lambda: [away_from_zero(6, 7)]),
    # NOTE: torch's gradient of sgn is a ZeroTensor, which cannot become a NumPy array: plus a · 0 on both sides
    Op("sgn", lambda a: shenjing.sgn(a) + a * 0, lambda a: torch.sgn(a) + a * 0, lambda: [away_from_zero(6, 7)]),
    _unary("negative", lambda: [randn(6, 7)]),
    Op("positive", lambda a: shenjing.positive(a) * 1.0, lambda a: torch.positive(a) * 1.0, lambda: [randn(6, 7)]),
    _unary("absolute", lambda: [away_from_zero(6, 7)]),
    _unary("reciprocal", lambda: [away_from_zero(6, 7)]),
    # error and gamma functions (SciPy's kernels; the series are checked further down)
    _unary("erfc", lambda: [randn(45, 65)]),
    _unary("lgamma", lambda: [uniform(0.1, 6.0, 6, 7)], **_SPECIAL_TOL),
    Op("lgamma_negative", lambda a: a.lgamma(), lambda a: a.lgamma(), lambda: [uniform(-2.9, -2.1, 6, 7)],
       tol=_SPECIAL_TOL),
    _unary("digamma", lambda: [uniform(0.2, 6.0, 6, 7)], **_TRIGAMMA_TOL),
    Op("polygamma_1", lambda a: shenjing.polygamma(1, a), lambda a: torch.polygamma(1, a),
       lambda: [uniform(0.5, 4.0, 6, 7)], tol=_TRIGAMMA_TOL),
    Op("polygamma_2", lambda a: a.polygamma(2), lambda a: a.polygamma(2), lambda: [uniform(0.5, 4.0, 6, 7)],
       tol=_SPECIAL_TOL),
    # binary, with broadcasting
    Op("atan2", lambda a, b: shenjing.atan2(a, b), lambda a, b: torch.atan2(a, b), lambda: [randn(45, 65), randn(45, 1)]),
    Op("arctan2", lambda a, b: a.arctan2(b), lambda a, b: a.arctan2(b), lambda: [randn(4, 5), randn(5)]),
    Op("hypot", lambda a, b: shenjing.hypot(a, b), lambda a, b: torch.hypot(a, b), lambda: [randn(45, 65), randn(1, 65)]),
    Op("logaddexp", lambda a, b: shenjing.logaddexp(a, b), lambda a, b: torch.logaddexp(a, b),
       lambda: [randn(45, 65), randn(45, 1)]),
    Op("logaddexp_extreme", lambda a, b: a.logaddexp(b), lambda a, b: a.logaddexp(b),
       lambda: [np.array([1e3, -1e3, 400.0, -400.0]), np.array([999.0, -1e3, -400.0, 1.0])]),
    Op("logaddexp2", lambda a, b: shenjing.logaddexp2(a, b), lambda a, b: torch.logaddexp2(a, b),
       lambda: [randn(6, 7), randn(1, 7)]),
    Op("xlogy", lambda a, b: shenjing.xlogy(a, b), lambda a, b: torch.xlogy(a, b),
       lambda: [randn(45, 65), uniform(0.5, 2.0, 45, 1)]),
    Op("xlogy_scalar", lambda b: shenjing.xlogy(2.0, b), lambda b: torch.xlogy(2.0, b), lambda: [uniform(0.5, 2, 5)]),
    Op("copysign", lambda a, b: shenjing.copysign(a, b), lambda a, b: torch.copysign(a, b),
       lambda: [away_from_zero(6, 7), away_from_zero(6, 7)]),
    Op("float_power", lambda a, b: shenjing.float_power(a, b), lambda a, b: torch.float_power(a, b),
       lambda: [uniform(0.5, 2.0, 4, 5), randn(4, 5)]),
    Op("float_power_scalar", lambda a: a.float_power(2.5), lambda a: a.float_power(2.5), lambda: [uniform(0.5, 2, 5)]),
    Op("float_power_base", lambda a: shenjing.float_power(2, a), lambda a: torch.float_power(2, a), lambda: [randn(5)]),
    Op("fmax", lambda a, b: shenjing.fmax(a, b), lambda a, b: torch.fmax(a, b),
       lambda: [distinct(5, 6), distinct(5, 6) + 0.05]),
    Op("fmin", lambda a, b: a.fmin(b), lambda a, b: a.fmin(b), lambda: [distinct(5, 6), distinct(1, 6) + 0.05]),
    Op("true_divide", lambda a, b: shenjing.true_divide(a, b), lambda a, b: torch.true_divide(a, b),
       lambda: [randn(4, 5), away_from_zero(4, 5)]),
    Op("multiply", lambda a, b: shenjing.multiply(a, b), lambda a, b: torch.multiply(a, b),
       lambda: [randn(4, 5), randn(5)]),
    Op("subtract_alpha", lambda a, b: shenjing.subtract(a, b, alpha=2), lambda a, b: torch.subtract(a, b, alpha=2),
       lambda: [randn(4, 5), randn(5)]),
    Op("divide", lambda a, b: a.divide(b), lambda a, b: a.divide(b), lambda: [randn(4, 5), away_from_zero(4, 5)]),
    Op("divide_trunc", lambda a, b: a.divide(b, rounding_mode="trunc"), lambda a, b: a.divide(b, rounding_mode="trunc"),
       lambda: [randn(4, 5) * 5, away_from_zero(4, 5)], fd=False),
    # scans, reductions, rearrangements
    Op("cummax", lambda a: a.cummax(1), lambda a: tuple(a.cummax(1)), lambda: [distinct(5, 6)]),
    Op("cummin", lambda a: shenjing.cummin(a, 0), lambda a: tuple(torch.cummin(a, 0)), lambda: [distinct(5, 6)]),
    Op("cummax_1d", lambda a: a.cummax(-1).values, lambda a: a.cummax(-1).values, lambda: [distinct(9)]),
    Op("logcumsumexp", lambda a: a.logcumsumexp(1), lambda a: a.logcumsumexp(1), lambda: [randn(5, 6)]),
    Op("logcumsumexp_0", lambda a: shenjing.logcumsumexp(a, 0), lambda a: torch.logcumsumexp(a, 0),
       lambda: [randn(7, 3)]),
    Op("logcumsumexp_extreme", lambda a: a.logcumsumexp(0), lambda a: a.logcumsumexp(0),
       lambda: [np.array([-1000.0, 0.0, 1000.0, -3.0, 999.0])]),
    Op("aminmax", lambda a: a.aminmax(dim=1), lambda a: tuple(a.aminmax(dim=1)), lambda: [distinct(5, 6)]),
    Op("aminmax_all", lambda a: shenjing.aminmax(a), lambda a: tuple(torch.aminmax(a)), lambda: [distinct(5, 6)]),
    Op("nansum", lambda a: a.nansum(), lambda a: a.nansum(), lambda: [with_nans(6, 7)]),
    Op("nansum_dim", lambda a: shenjing.nansum(a, 1, keepdim=True), lambda a: torch.nansum(a, 1, keepdim=True),
       lambda: [with_nans(6, 7)]),
    Op("nanmean", lambda a: a.nanmean(0), lambda a: a.nanmean(0), lambda: [with_nans(6, 7)]),
    Op("diff", lambda a: a.diff(), lambda a: a.diff(), lambda: [randn(5, 6)]),
    Op("diff_n2_dim0", lambda a: shenjing.diff(a, n=2, dim=0), lambda a: torch.diff(a, n=2, dim=0),
       lambda: [randn(5, 6)]),
    Op("diff_prepend_append", lambda a, b, c: a.diff(dim=1, prepend=b, append=c),
       lambda a, b, c: a.diff(dim=1, prepend=b, append=c), lambda: [randn(5, 6), randn(5, 1), randn(5, 2)]),
    Op("rot90", lambda a: a.rot90(), lambda a: a.rot90(), lambda: [randn(4, 5)]),
    Op("rot90_k2", lambda a: shenjing.rot90(a, 2, (1, 2)), lambda a: torch.rot90(a, 2, (1, 2)),
       lambda: [randn(3, 4, 5)]),
    Op("rot90_k3", lambda a: a.rot90(-1, (0, 2)), lambda a: a.rot90(-1, (0, 2)), lambda: [randn(3, 4, 5)]),
    Op("fliplr", lambda a: shenjing.fliplr(a), lambda a: torch.fliplr(a), lambda: [randn(4, 5)]),
    Op("flipud", lambda a: a.flipud(), lambda a: a.flipud(), lambda: [randn(4, 5)]),
    Op("ravel", lambda a: shenjing.ravel(a.transpose(0, 1)), lambda a: torch.ravel(a.transpose(0, 1)),
       lambda: [randn(4, 5)]),
    Op("vdot", lambda a, b: shenjing.vdot(a, b), lambda a, b: torch.vdot(a, b), lambda: [randn(7), randn(7)]),
    Op("kron", lambda a, b: shenjing.kron(a, b), lambda a, b: torch.kron(a, b), lambda: [randn(2, 3), randn(3, 2)]),
    Op("kron_ranks", lambda a, b: a.kron(b), lambda a, b: a.kron(b), lambda: [randn(3), randn(2, 2)]),
    Op("sum_to_size", lambda a: a.sum_to_size(5, 1), lambda a: a.sum_to_size(5, 1), lambda: [randn(4, 5, 6)]),
    Op("split_with_sizes", lambda a: a.split_with_sizes([2, 5]), lambda a: a.split_with_sizes([2, 5]),
       lambda: [randn(7, 3)]),
    # in-place forms recorded in a graph (on a clone: the inputs are leaves)
    Op("acos_", lambda a: a.clone().acos_(), lambda a: a.clone().acos_(), lambda: [uniform(-0.9, 0.9, 4, 5)]),
    Op("log1p_", lambda a: shenjing.log1p_(a * 1), lambda a: torch.log1p_(a * 1), lambda: [uniform(0, 2, 4, 5)]),
    Op("atan2_", lambda a, b: a.clone().atan2_(b), lambda a, b: a.clone().atan2_(b), lambda: [randn(4, 5), randn(5)]),
    Op("xlogy_", lambda a, b: a.clone().xlogy_(b), lambda a, b: a.clone().xlogy_(b),
       lambda: [randn(4, 5), uniform(0.5, 2, 4, 5)]),
    Op("logit_", lambda a: a.clone().logit_(0.1), lambda a: a.clone().logit_(0.1), lambda: [uniform(0.2, 0.8, 6)]),
    Op("sinc_then_mul", lambda a: a.clone().sinc_() * a, lambda a: a.clone().sinc_() * a,
       lambda: [away_from_zero(6)]),
    Op("eq_", lambda a, b: a.clone().eq_(b) + a, lambda a, b: a.clone().eq_(b) + a,
       lambda: [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])]),
    Op("squeeze_", lambda a: (a * 2).squeeze_(1) * a[:, 0], lambda a: (a * 2).squeeze_(1) * a[:, 0],
       lambda: [randn(4, 1, 3)]),
    Op("t_", lambda a: (a * 1).t_().exp(), lambda a: (a * 1).t_().exp(), lambda: [randn(4, 3)]),
    Op("unsqueeze_then_mul_", lambda a: (a * 1).unsqueeze_(0).mul_(3), lambda a: (a * 1).unsqueeze_(0).mul_(3),
       lambda: [randn(4, 3)]),
    Op("transpose_view", lambda a: _transpose_a_view_then_write(a), lambda a: _transpose_a_view_then_write(a),
       lambda: [randn(4, 3)]),
]

# the ops whose forward calls a SciPy kernel: on the fake GPU (no ``special``) they take the series, whose
# last bits differ from SciPy's; they have their own seam tests below
_SPECIAL = {"erfc", "lgamma", "lgamma_negative", "digamma", "polygamma_1", "polygamma_2"}
SEAM_OPS = [op for op in MORE_OPS if op.name not in _SPECIAL]


@pytest.mark.parametrize("op", MORE_OPS, ids=[op.name for op in MORE_OPS])
def test_matches_torch(op: Op) -> None:
    check_torch(op.sj, op.torch, inputs_of(op), tol=op.tol)


@pytest.mark.parametrize("op", [op for op in MORE_OPS if op.fd], ids=[op.name for op in MORE_OPS if op.fd])
def test_finite_differences(op: Op) -> None:
    check_gradients(op.sj, inputs_of(op))


# ---- dtypes: integers and bools compute in the default float, as torch ------------------------------------------
FLOAT_VALUED = ("acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg log2 log10 log1p expm1 exp2 logit "
                "sinc erfc lgamma digamma reciprocal").split()


@pytest.mark.parametrize("name", FLOAT_VALUED)
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_inputs_give_the_default_float(name: str, dtype: str) -> None:
    data = np.array([0, 1, 1, 0] if dtype == "bool" else [0, 1, 2, 3, -1]).astype(dtype)
    ours = getattr(shenjing, name)(shenjing.tensor(data))
    theirs = getattr(torch, name)(torch.tensor(data))
    assert ours.dtype == shenjing.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)
    shenjing.set_default_dtype(shenjing.float64)
    assert getattr(shenjing, name)(shenjing.tensor(data)).dtype == shenjing.float64


@pytest.mark.parametrize("name", ["atan2", "xlogy", "copysign", "fmax", "fmin", "float_power", "true_divide"])
def test_binary_dtypes_match_torch(name: str) -> None:
    pairs = [(np.array([1, -2, 3], dtype="int32"), np.array([2, 3, 0], dtype="int32")),
             (np.array([1, -2, 3], dtype="int64"), np.array([0.5, 3.0, 2.0], dtype="float64")),
             (np.array([1.0, -2.0, 3.0], dtype="float32"), np.array([2, 3, 1], dtype="int64"))]
    for a, b in pairs:
        ours = getattr(shenjing, name)(shenjing.tensor(a), shenjing.tensor(b))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1], (a.dtype, b.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_sgn_negative_keep_integer_dtypes_and_reject_bool_like_torch() -> None:
    x = np.array([-3, 0, 2])
    assert shenjing.sgn(shenjing.tensor(x)).tolist() == torch.sgn(torch.tensor(x)).tolist() == [-1, 0, 1]
    assert shenjing.negative(shenjing.tensor(x)).dtype == shenjing.int64
    flags = shenjing.tensor([True, False])
    for fn in (shenjing.negative, shenjing.positive):
        with pytest.raises(RuntimeError):
            fn(flags)
    y = shenjing.tensor([1.0, 2.0])
    assert shenjing.positive(y) is y


# ---- special values, against torch -----------------------------------------------------------------------------
def _both(fn_name: str, *arrays: np.ndarray, grad: bool = True, **kwargs: object) -> None:
    """``fn_name`` of the arrays (float64) in both libraries: values and gradients exactly as torch's (nan too)."""
    ours = [shenjing.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out = getattr(shenjing, fn_name)(*ours, **kwargs)
    expected = getattr(torch, fn_name)(*theirs, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    if grad:
        out.sum().backward()
        expected.sum().backward()
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_kinks_and_zeros_match_torch() -> None:
    saved = np.seterr(all="raise")  # no warnings on the defined cases either (xlogy(0, 0), sinc(0), copysign(0, ...))
    try:
        _both("sinc", np.array([0.0, 0.5, -1.0]))
        _both("logit", np.array([0.0, 0.1, 0.5, 1.0]), eps=0.2)
        _both("xlogy", np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, 2.0, 3.0, np.nan]))
        _both("copysign", np.array([0.0, -0.0, 2.0, -3.0]), np.array([-1.0, 1.0, -0.0, 1.0]))
        _both("fmax", np.array([1.0, 2.0, np.nan, 4.0, np.nan]), np.array([1.0, 3.0, 1.0, np.nan, np.nan]))
        _both("fmin", np.array([1.0, 2.0, np.nan, 4.0, np.nan]), np.array([1.0, 3.0, 1.0, np.nan, np.nan]))
    finally:
        np.seterr(**saved)
    _both("logit", np.array([0.0, 0.3, 1.0]))
    _both("xlogy", np.array([1.0]), np.array([0.0]))


def test_gamma_functions_at_poles_match_torch() -> None:
    x = np.array([0.0, -0.0, -1.0, -1.5, -2.5, 1.0, 30.0])
    for name in ("lgamma", "digamma"):
        ours = getattr(shenjing, name)(shenjing.tensor(x)).numpy()
        np.testing.assert_allclose(ours, getattr(torch, name)(torch.tensor(x)).numpy(), rtol=1e-12)
    for n in (1, 2, 3):
        np.testing.assert_allclose(shenjing.polygamma(n, shenjing.tensor(x[3:])).numpy(),
                                   torch.polygamma(n, torch.tensor(x[3:])).numpy(), rtol=1e-8)


def test_divide_rounding_modes_match_torch() -> None:
    for a, b in [(np.array([-7, 7, -8, 9]), np.array([2, -2, 2, 3])), (np.array([-7.5, 7.0, -1.0]), 2.0),
                 (np.array([-7, 7, 3]), 2)]:
        for mode in ("trunc", "floor", None):
            ours = shenjing.divide(shenjing.tensor(a), shenjing.tensor(b) if isinstance(b, np.ndarray) else b,
                                   rounding_mode=mode)
            theirs = torch.divide(torch.tensor(a), torch.tensor(b) if isinstance(b, np.ndarray) else b,
                                  rounding_mode=mode)
            assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1], mode
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="rounding_mode"):
        shenjing.ones(2).divide(2, rounding_mode="round")


def test_cummax_ties_and_nan_and_named_tuples() -> None:
    x = np.array([1.0, 3.0, 3.0, 2.0, 3.0, np.nan, 5.0, np.nan, 1.0])
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(shenjing.tensor(x), name)(0), getattr(torch.tensor(x), name)(0)
        assert type(ours).__name__ == name and ours._fields == ("values", "indices")
        assert repr(ours).startswith(f"shenjing.return_types.{name}(")
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ints = np.array([[3, 1, 3], [0, 5, 5]])
    np.testing.assert_array_equal(shenjing.cummin(shenjing.tensor(ints), 1).indices.numpy(),
                                  torch.cummin(torch.tensor(ints), 1).indices.numpy())
    assert shenjing.tensor(ints).cummax(1).values.dtype == shenjing.int64
    # the gradient of tied running maxima goes to the index picked, as torch
    a, t = shenjing.tensor(x[:5], requires_grad=True), torch.tensor(x[:5], requires_grad=True)
    a.cummax(0).values.backward(shenjing.arange(5.0, dtype=shenjing.float64))
    t.cummax(0).values.backward(torch.arange(5.0, dtype=torch.float64))
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())
    zero_d = shenjing.tensor(2.5).cummax(0)
    assert zero_d.values.item() == 2.5 and zero_d.indices.item() == 0
    both = shenjing.tensor([[1.0, 5.0], [3.0, 2.0]]).aminmax(dim=0)
    assert both._fields == ("min", "max") and both.min.tolist() == [1.0, 2.0] and both.max.tolist() == [3.0, 5.0]


def test_logcumsumexp_keeps_small_terms_and_minus_inf() -> None:
    x = np.array([-1000.0, 0.0, -np.inf, 20.0])
    np.testing.assert_allclose(shenjing.tensor(x).logcumsumexp(0).numpy(), torch.tensor(x).logcumsumexp(0).numpy(),
                               rtol=1e-12)
    assert shenjing.tensor([1, 2]).logcumsumexp(0).dtype == shenjing.float32


# ---- predicates --------------------------------------------------------------------------------------------------
def test_predicates_match_torch() -> None:
    x = np.array([-0.0, 0.0, 2.0, -np.inf, np.inf, np.nan, -3.0])
    for name in ("signbit", "isposinf", "isneginf", "isreal"):
        for data in (x, np.array([-2, 0, 3]), np.array([True, False])):
            if name == "signbit" and data.dtype == bool:
                continue
            np.testing.assert_array_equal(getattr(shenjing, name)(shenjing.tensor(data)).numpy(),
                                          getattr(torch, name)(torch.tensor(data)).numpy(), err_msg=name)
    values = np.array([0.5])
    np.testing.assert_array_equal(shenjing.heaviside(shenjing.tensor(x), shenjing.tensor(values)).numpy(),
                                  torch.heaviside(torch.tensor(x), torch.tensor(values)).numpy())
    np.testing.assert_array_equal(shenjing.tensor([-1, 0, 2]).heaviside(shenjing.tensor([7])).numpy(), [0, 7, 1])
    with pytest.raises(RuntimeError, match="different dtypes"):
        shenjing.tensor([1.0]).heaviside(shenjing.tensor([1]))
    for dtype in ("float32", "int64", "uint8", "bool", "complex64"):
        ours, theirs = shenjing.zeros(1, dtype=dtype), torch.zeros(1, dtype=getattr(torch, dtype))
        assert ours.is_signed() == theirs.is_signed() and shenjing.is_complex(ours) == torch.is_complex(theirs)
        assert ours.is_floating_point() == theirs.is_floating_point()
    assert shenjing.tensor([3]).is_nonzero() and not shenjing.tensor(0.0).is_nonzero()
    with pytest.raises(RuntimeError, match="more than one value"):
        shenjing.tensor([1.0, 2.0]).is_nonzero()
    with pytest.raises(RuntimeError, match="no values"):
        shenjing.tensor([]).is_nonzero()
    assert shenjing.is_same_size(shenjing.ones(2, 3), shenjing.zeros(2, 3))
    assert not shenjing.ones(2, 3).is_same_size(shenjing.ones(3, 2))


# ---- in-place forms --------------------------------------------------------------------------------------------
INPLACE_UNARY = ("acos asin atan tan sinh cosh asinh acosh atanh arccos arcsin arctan arcsinh arccosh arctanh deg2rad "
                 "rad2deg log2 log10 log1p expm1 exp2 logit sinc erfc lgamma digamma sgn negative absolute reciprocal "
                 "rsqrt square erf erfinv frac fix nan_to_num").split()


@pytest.mark.parametrize("name", INPLACE_UNARY)
def test_inplace_unary_writes_bumps_and_records(name: str) -> None:
    lo, hi = (1.1, 3.0) if name in ("acosh", "arccosh") else (0.1, 0.9)
    data = np.random.default_rng(0).uniform(lo, hi, (3, 4))
    x = shenjing.tensor(data)
    version, array = x._version, x.array
    assert getattr(x, name + "_")() is x and x.array is array and x._version == version + 1
    np.testing.assert_allclose(x.numpy(), getattr(torch.tensor(data), name)().numpy(), rtol=1e-12)
    # inside a graph: recorded, the gradient through it equal to torch's
    leaf, t_leaf = shenjing.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    h, t_h = leaf * 1.5, t_leaf * 1.5
    getattr(h, name + "_")()
    t_h = getattr(t_h, name)()  # NOTE: torch has no backward for asinh_, acosh_, atanh_, digamma_, sgn_
    (h * h + leaf).sum().backward()  # + leaf: torch's gradient of sgn alone is a ZeroTensor (no NumPy form)
    (t_h * t_h + t_leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), t_leaf.grad.numpy(), rtol=1e-8, atol=1e-12)  # trigamma: 1e-8
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(shenjing.tensor(data, requires_grad=True), name + "_")()


def test_inplace_float_result_into_integer_tensor_raises_like_torch() -> None:
    for name in ("acos_", "log1p_", "lgamma_", "reciprocal_"):
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(shenjing.tensor([1, 2]), name)()
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(torch.tensor([1, 2]), name)()
    with pytest.raises(RuntimeError, match="float_power_"):
        shenjing.tensor([2.0]).float_power_(2)
    x = shenjing.tensor([2.0, 3.0], dtype=shenjing.float64)
    assert x.float_power_(2) is x and x.tolist() == [4.0, 9.0]


@pytest.mark.parametrize("name,other", [("atan2", [0.5, -2.0]), ("hypot", [3.0, 4.0]), ("xlogy", [2.0, 0.5]),
                                        ("copysign", [-1.0, 1.0]), ("fmod", [0.7, 1.5]), ("remainder", [-0.7, 1.5]),
                                        ("floor_divide", [0.3, -0.4]), ("true_divide", [2.0, -4.0]),
                                        ("multiply", [2.0, -4.0]), ("subtract", [2.0, -4.0]),
                                        ("heaviside", [0.5, 0.5]), ("divide", [0.3, 0.7])])
def test_inplace_binary_matches_torch(name: str, other: list) -> None:
    data = np.array([[1.5, -2.0], [0.0, 3.0]])
    x, t = shenjing.tensor(data), torch.tensor(data)
    version = x._version
    assert getattr(x, name + "_")(shenjing.tensor(np.array(other))) is x and x._version == version + 1
    getattr(t, name + "_")(torch.tensor(np.array(other)))
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12)


def test_inplace_keyword_forms() -> None:
    x = shenjing.tensor([-7.0, 7.0, 5.0])
    x.divide_(2, rounding_mode="trunc")
    assert x.tolist() == [-3.0, 3.0, 2.0]
    x.subtract_(shenjing.tensor([1.0, 1.0, 1.0]), alpha=3)
    assert x.tolist() == [-6.0, 0.0, -1.0]
    y = shenjing.tensor([0.5, 4.0])
    y.polygamma_(1)
    np.testing.assert_allclose(y.numpy(), torch.tensor([0.5, 4.0]).polygamma_(1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                                  "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor"])
def test_inplace_comparisons_and_logic_match_torch(name: str) -> None:
    a, b = np.array([1.0, 0.0, 3.0, -2.0]), np.array([1.0, 2.0, 0.0, -2.0])
    for dtype in ("float32", "int64", "bool"):
        x, t = shenjing.tensor(a.astype(dtype)), torch.tensor(a.astype(dtype))
        version = x._version
        assert getattr(x, name + "_")(shenjing.tensor(b.astype(dtype))) is x and x._version == version + 1
        getattr(t, name + "_")(torch.tensor(b.astype(dtype)))
        assert x.dtype == shenjing.tensor(a.astype(dtype)).dtype
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    # in a graph: recorded with a zero gradient, as torch (the result still requires grad)
    leaf = shenjing.tensor(a, requires_grad=True)
    h = leaf * 2
    getattr(h, name + "_")(1.0)
    assert h.requires_grad
    (h + leaf).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(shenjing.tensor(a, requires_grad=True), name + "_")(1.0)


def test_logical_not_and_bitwise_inplace() -> None:
    f = shenjing.tensor([1.5, 0.0])
    assert f.logical_not_() is f and f.tolist() == [0.0, 1.0]
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        x, t = shenjing.tensor([5, 3, 12]), torch.tensor([5, 3, 12])
        getattr(x, name + "_")(shenjing.tensor([1, 6, 10]))
        getattr(t, name + "_")(torch.tensor([1, 6, 10]))
        assert x.tolist() == t.tolist()
    x = shenjing.tensor([5, 0])
    assert x.bitwise_not_() is x and x.tolist() == [-6, -1]


def test_nan_to_num_inplace() -> None:
    data = np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32)
    x = shenjing.tensor(data)
    shenjing.nan_to_num_(x, nan=0.5, posinf=9.0)
    np.testing.assert_array_equal(x.numpy(), torch.tensor(data).nan_to_num_(nan=0.5, posinf=9.0).numpy())


# ---- in-place view changes ---------------------------------------------------------------------------------------
def test_inplace_view_changes_match_torch() -> None:
    cases = [("squeeze_", ()), ("squeeze_", (1,)), ("unsqueeze_", (0,)), ("unsqueeze_", (-1,)),
             ("transpose_", (0, 2)), ("swapaxes_", (1, 2)), ("swapdims_", (0, 1))]
    data = np.arange(6.0).reshape(2, 1, 3)
    for name, args in cases:
        x, t = shenjing.tensor(data), torch.tensor(data)
        version = x._version
        assert getattr(x, name)(*args) is x and x._version == version + 1
        getattr(t, name)(*args)
        assert tuple(x.shape) == tuple(t.shape) and x.stride() == t.stride(), name
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    m = shenjing.tensor(np.arange(6.0).reshape(2, 3))
    assert m.t_() is m and tuple(m.shape) == (3, 2) and m.stride() == (1, 3)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        shenjing.ones(2, 1, requires_grad=True).squeeze_()
    for lib in (shenjing, torch):
        with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
            lib.ones(3, 2, requires_grad=True)[1:].t_()
    with shenjing.no_grad():
        leaf = shenjing.ones(2, 1, requires_grad=True)
        assert tuple(leaf.squeeze_().shape) == (2,)


def test_inplace_view_change_in_a_graph_then_a_write() -> None:
    data = np.random.default_rng(0).standard_normal((2, 1, 3))
    x, t = shenjing.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    outs = []
    for lib, leaf in ((shenjing, x), (torch, t)):
        h = leaf * 2
        first = h.sum(1)  # uses h's value before the write below
        h.squeeze_(1)
        h.mul_(lib.tensor([1.0, 2.0, 3.0], dtype=h.dtype))
        out = (h * h).sum() + (first * 3).sum()
        out.backward()
        outs.append(out.item())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# ---- attributes and small utilities -------------------------------------------------------------------------------
def test_memory_queries_match_torch() -> None:
    ours, theirs = shenjing.zeros(3, 4), torch.zeros(3, 4)
    assert ours.nbytes == theirs.nbytes == 48 and ours.itemsize == theirs.itemsize == 4
    for index in [(slice(1, None), slice(1, None)), (1,), (slice(None), 2)]:
        assert ours[index].storage_offset() == theirs[index].storage_offset()
        assert ours[index].data_ptr() - ours.data_ptr() == theirs[index].data_ptr() - theirs.data_ptr()
    assert ours.data_ptr() == ours.array.ctypes.data
    assert ours.get_device() == theirs.get_device() == -1 and shenjing.get_device(ours) == -1
    assert not ours.is_inference() and not shenjing.is_inference(ours)
    leaf = shenjing.ones(2, requires_grad=True)
    h = leaf * 2
    assert not h.retains_grad and not leaf.retains_grad
    h.retain_grad()
    leaf.retain_grad()
    assert h.retains_grad and not leaf.retains_grad


def test_allclose_and_equal_methods() -> None:
    a = shenjing.tensor([1.0, 2.0])
    assert a.allclose(a + 1e-9) and not a.allclose(a + 1e-3) and a.allclose(a + 1e-3, atol=1e-2)
    assert a.equal(shenjing.tensor([1.0, 2.0])) and not a.equal(shenjing.tensor([1.0, 2.5]))


def test_utility_errors_match_torch() -> None:
    for fn, message in [(lambda lib: lib.ones(2, 3).sum_to_size(2), "is not expandable to size"),
                        (lambda lib: lib.ones(5).split_with_sizes([2, 2]), "split_with_sizes expects"),
                        (lambda lib: lib.ones(3).fliplr(), "Input must be >= 2-d."),
                        (lambda lib: lib.ones(2, 2).rot90(1, (0, 0)), "expected rotation dims to be different"),
                        (lambda lib: lib.ones(3).rot90(), "expected total dims >= 2"),
                        (lambda lib: lib.tensor([1, 2]).nanmean(), "nanmean"),
                        (lambda lib: lib.ones(2, 2).vdot(lib.ones(2, 2)), "1D tensors expected")]:
        for lib in (shenjing, torch):
            with pytest.raises(RuntimeError, match=message):
                fn(lib)
    assert shenjing.tensor([1, 2, 3]).diff().tolist() == [1, 1]
    assert shenjing.tensor([True, False, False]).diff().tolist() == [True, False]
    assert shenjing.nansum(shenjing.tensor([1, 2])).dtype == shenjing.int64
    assert shenjing.kron(shenjing.tensor([1, 2]), shenjing.tensor([[1, 2], [3, 4]])).tolist() == \
        torch.kron(torch.tensor([1, 2]), torch.tensor([[1, 2], [3, 4]])).tolist()


def test_every_name_has_the_forms_torch_has() -> None:
    if not HAS_TORCH:
        pytest.skip("needs torch")
    names = set(_tensor_math_more.FUNCTION_NAMES) | {n + "_" for n in _tensor_inplace_more._INPLACE_FORMS} | set(
        "eq_ ne_ lt_ le_ gt_ ge_ greater_ greater_equal_ less_ less_equal_ not_equal_ logical_and_ logical_or_ "
        "logical_xor_ logical_not_ squeeze_ unsqueeze_ t_ transpose_ swapaxes_ swapdims_ nbytes itemsize allclose "
        "equal storage_offset data_ptr retains_grad sum_to_size float_power_ multiply_ subtract_ true_divide_ "
        "divide_ remainder_ polygamma".split())
    missing = [n for n in sorted(names) if hasattr(torch.Tensor, n) and not hasattr(shenjing.Tensor, n)]
    missing += [f"shenjing.{n}" for n in sorted(names) if hasattr(torch, n) and not hasattr(shenjing, n)]
    assert not missing, missing


# ---- the gamma family without SciPy: the series --------------------------------------------------------------
@pytest.fixture
def no_scipy(monkeypatch):
    monkeypatch.setattr(backend.Backend, "special", lambda self, name: None)


_OFF_POLES = np.concatenate([np.linspace(0.05, 40, 50), np.arange(-5.85, 0, 0.3)])  # the poles are tested above
_SERIES = [
    ("lgamma", lambda lib, x: lib.lgamma(x), _OFF_POLES),
    ("digamma", lambda lib, x: lib.digamma(x), _OFF_POLES),
    ("polygamma_1", lambda lib, x: lib.polygamma(1, x), np.linspace(0.05, 40, 50)),
    ("polygamma_3", lambda lib, x: lib.polygamma(3, x), np.linspace(0.3, 40, 50)),
    ("erfc", lambda lib, x: lib.erfc(x), np.linspace(-6, 6, 49)),
]


@pytest.mark.parametrize("name,fn,x", _SERIES, ids=[s[0] for s in _SERIES])
def test_series_without_scipy_match_torch(no_scipy, name: str, fn: object, x: np.ndarray) -> None:
    check_torch(lambda a: fn(shenjing, a), lambda a: fn(torch, a), [x],
                tol={"float64": {"fwd_rtol": 1e-9, "fwd_atol": 1e-12, "grad_rtol": 1e-8, "grad_atol": 1e-10},
                     "float32": {"fwd_rtol": 2e-3, "grad_rtol": 2e-3}})


def test_series_at_poles_without_scipy(no_scipy) -> None:
    data = np.array([0.0, -0.0, -1.0, -2.0])
    x, t = shenjing.tensor(data), torch.tensor(data)
    np.testing.assert_array_equal(x.lgamma().numpy(), t.lgamma().numpy())
    np.testing.assert_array_equal(x.digamma().numpy(), t.digamma().numpy())
    for n in (1, 2, 3):  # (−1)ⁿ⁺¹·∞ at the poles, as SciPy (torch: ∞ at 0, finite 1e32 at −1, −2 for n = 1)
        np.testing.assert_array_equal(shenjing.polygamma(n, x).numpy(), [(-1) ** (n + 1) * np.inf] * 4)


# ---- the seam for the SciPy-backed ops: on a fake GPU whose ``special`` is SciPy's, and on one without ---------------
class FakeGPUWithSpecial(FakeGPUBackend):
    """The fake GPU with SciPy's kernels as its special functions (as CuPy has cupyx.scipy.special)."""

    def special(self, name: str) -> object:
        import scipy.special

        kernel = getattr(scipy.special, name, None)
        return None if kernel is None else _call(kernel)


def _register(fake: FakeGPUBackend):
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(fake)
    return saved_backends, saved_types


def _restore(saved: tuple) -> None:
    backend._backends.clear()
    backend._backends.update(saved[0])
    backend._by_array_type.clear()
    backend._by_array_type.update(saved[1])


def _run(fn: object, arrays: list, device: str) -> list:
    tensors = [shenjing.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = shenjing.tensor(np.random.default_rng(0).standard_normal(out.shape), device=device)
    (out * weights).sum().backward()
    host = backend.backend_of(out.array).to_host
    return [host(out.array)] + [host(t.grad.array) for t in tensors]


@pytest.mark.parametrize("with_special", [True, False], ids=["scipy_kernels", "series"])
@pytest.mark.parametrize("op", [op for op in MORE_OPS if op.name in _SPECIAL],
                         ids=[op.name for op in MORE_OPS if op.name in _SPECIAL])
def test_special_ops_run_through_the_seam(op: Op, with_special: bool, monkeypatch) -> None:
    pytest.importorskip("scipy")
    if not with_special:
        monkeypatch.setattr(backend.Backend, "special", lambda self, name: None)
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs_of(op)]
    saved = _register(FakeGPUWithSpecial() if with_special else FakeGPUBackend())
    try:
        cpu, gpu = _run(op.sj, arrays, "cpu"), _run(op.sj, arrays, "cuda")
    finally:
        _restore(saved)
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a, b)
