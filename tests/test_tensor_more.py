"""The Tensor methods and top-level functions of shenjing/_tensor_more.py, each against PyTorch 2.13.

They are what ported programs called and found missing (pytorch/examples word_language_model stopped at
``data.narrow``; its update loop uses the deprecated ``p.data.add_(-lr, grad)`` overload).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_torch, torch

import shenjing

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5))
Y = rng.standard_normal((3, 4, 5))

DIFFERENTIABLE = {
    "narrow": (lambda t: t.narrow(1, 1, 2), lambda t: t.narrow(1, 1, 2)),
    "narrow_negative_start": (lambda t: t.narrow(-1, -3, 3), lambda t: t.narrow(-1, -3, 3)),
    "select": (lambda t: t.select(2, -1), lambda t: t.select(2, -1)),
    "movedim": (lambda t: t.movedim(0, -1), lambda t: t.movedim(0, -1)),
    "movedim_pairs": (lambda t: t.movedim((0, 1), (2, 0)), lambda t: t.movedim((0, 1), (2, 0))),
    "moveaxis": (lambda t: t.moveaxis(2, 0), lambda t: t.moveaxis(2, 0)),
    "tile_fewer_dims": (lambda t: t.tile((2, 1)), lambda t: t.tile((2, 1))),
    "tile_more_dims": (lambda t: t.tile((2, 1, 1, 2)), lambda t: t.tile((2, 1, 1, 2))),
    "swapdims": (lambda t: t.swapdims(0, 2), lambda t: t.swapdims(0, 2)),
    "broadcast_to": (lambda t: t[:1].broadcast_to((2, 3, 4, 5)), lambda t: t[:1].broadcast_to((2, 3, 4, 5))),
    "floor": (lambda t: (t * 3).floor() + t, lambda t: (t * 3).floor() + t),
    "ceil": (lambda t: (t * 3).ceil() * t, lambda t: (t * 3).ceil() * t),
    "round": (lambda t: (t * 3).round(), lambda t: (t * 3).round()),
    "round_decimals": (lambda t: (t * 3).round(decimals=2), lambda t: (t * 3).round(decimals=2)),
    "trunc": (lambda t: (t * 3).trunc() + t, lambda t: (t * 3).trunc() + t),
    "frac": (lambda t: (t * 3).frac(), lambda t: (t * 3).frac()),
    "torch.narrow": (lambda t: shenjing.narrow(t, 0, 1, 2), lambda t: torch.narrow(t, 0, 1, 2)),
    "torch.chunk": (lambda t: shenjing.chunk(t, 2, 1)[1], lambda t: torch.chunk(t, 2, 1)[1]),
    "torch.split": (lambda t: shenjing.split(t, [1, 3], 1)[1], lambda t: torch.split(t, [1, 3], 1)[1]),
    "torch.unbind": (lambda t: shenjing.unbind(t, 2)[3], lambda t: torch.unbind(t, 2)[3]),
    "torch.flip": (lambda t: shenjing.flip(t, (0, 2)), lambda t: torch.flip(t, (0, 2))),
    "torch.t": (lambda t: shenjing.t(t[0]), lambda t: torch.t(t[0])),
    "torch.floor": (lambda t: shenjing.floor(t * 2) + t, lambda t: torch.floor(t * 2) + t),
    "torch.hstack": (lambda t: shenjing.hstack([t, t * 2]), lambda t: torch.hstack([t, t * 2])),
    "torch.vstack_rows": (lambda t: shenjing.vstack([t[0, 0], t[1, 1]]), lambda t: torch.vstack([t[0, 0], t[1, 1]])),
    "torch.rsqrt": (lambda t: shenjing.rsqrt(t.abs() + 1), lambda t: torch.rsqrt(t.abs() + 1)),
    "torch.sign": (lambda t: shenjing.sign(t) * t, lambda t: torch.sign(t) * t),
}


@pytest.mark.parametrize("name", list(DIFFERENTIABLE))
def test_methods_match_torch_with_gradients(name: str) -> None:
    ours, theirs = DIFFERENTIABLE[name]
    check_torch(ours, theirs, [X.copy()])


@pytest.mark.parametrize("name", ["addcmul", "addcdiv", "lerp"])
def test_addcmul_addcdiv_and_their_in_place_forms_match_torch(name: str) -> None:
    kwargs = {"value": 0.5} if name != "lerp" else {}
    extra = (Y.copy(),) if name != "lerp" else ()

    def ours(a: object, b: object) -> object:
        args = (b, *[shenjing.tensor(e, dtype=a.dtype) for e in extra]) if name != "lerp" else (b, 0.3)
        return getattr(a, name)(*args, **kwargs)

    def theirs(a: object, b: object) -> object:
        args = (b, *[torch.tensor(e, dtype=a.dtype) for e in extra]) if name != "lerp" else (b, 0.3)
        return getattr(a, name)(*args, **kwargs)

    check_torch(ours, theirs, [X.copy(), np.abs(Y) + 1])
    a, b = shenjing.tensor(X.copy()), shenjing.tensor(np.abs(Y) + 1)
    ta, tb = torch.tensor(X.copy()), torch.tensor(np.abs(Y) + 1)
    args = ((b, shenjing.tensor(Y)), (tb, torch.tensor(Y))) if name != "lerp" else ((b, 0.3), (tb, 0.3))
    out = getattr(a, name + "_")(*args[0], **kwargs)
    getattr(ta, name + "_")(*args[1], **kwargs)
    assert out is a
    np.testing.assert_allclose(a.numpy(), ta.numpy(), rtol=1e-12)


def test_named_comparisons_logic_and_rounding_in_place_match_torch() -> None:
    a, b = np.array([[-1.5, 0.0, 2.5], [3.0, -0.5, 1.0]]), np.array([[1.0, 0.0, 2.5], [-3.0, 2.0, 1.0]])
    sa, sb, ta, tb = shenjing.tensor(a), shenjing.tensor(b), torch.tensor(a), torch.tensor(b)
    for name in ["gt", "ge", "lt", "le", "ne", "eq", "greater", "greater_equal", "less", "less_equal", "not_equal",
                 "logical_and", "logical_or", "logical_xor", "remainder", "floor_divide"]:
        np.testing.assert_array_equal(getattr(sa, name)(sb).numpy(), getattr(ta, name)(tb).numpy(), err_msg=name)
        np.testing.assert_array_equal(getattr(shenjing, name)(sa, sb).numpy(), getattr(torch, name)(ta, tb).numpy())
    for name in ["logical_not", "isnan", "isinf", "isfinite", "floor", "ceil", "round", "trunc", "frac"]:
        np.testing.assert_array_equal(getattr(sa, name)().numpy(), getattr(ta, name)().numpy(), err_msg=name)
    i, j = np.array([5, 6, 12]), np.array([3, 3, 10])
    si, sj, ti, tj = (shenjing.tensor(i), shenjing.tensor(j), torch.tensor(i), torch.tensor(j))
    for name in ["bitwise_and", "bitwise_or", "bitwise_xor"]:
        np.testing.assert_array_equal(getattr(si, name)(sj).numpy(), getattr(ti, name)(tj).numpy())
    np.testing.assert_array_equal(si.bitwise_not().numpy(), ti.bitwise_not().numpy())
    assert si.floor().dtype == shenjing.int64 and si.floor().tolist() == [5, 6, 12]  # integers stay as they are
    for name in ["floor_", "ceil_", "round_", "trunc_", "sign_"]:
        ours, theirs = shenjing.tensor(a * 1.7), torch.tensor(a * 1.7)
        assert getattr(ours, name)() is ours
        getattr(theirs, name)()
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
    assert sa.count_nonzero().item() == ta.count_nonzero().item() == 5
    np.testing.assert_array_equal(sa.count_nonzero(1).numpy(), ta.count_nonzero(1).numpy())


def test_rounding_has_zero_gradient_inside_a_graph_as_torch() -> None:
    x = shenjing.tensor(X.copy(), requires_grad=True)
    y = x.floor()
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(X))


def test_layout_queries_and_dtype_shorthands_match_torch() -> None:
    s, t = shenjing.tensor(X), torch.tensor(X)
    for view in [lambda v: v, lambda v: v.transpose(0, 2), lambda v: v[:, 1:3], lambda v: v[..., ::2]]:
        assert view(s).stride() == view(t).stride()
        assert view(s).stride(-1) == view(t).stride(-1)
        assert view(s).is_contiguous() == view(t).is_contiguous()
    assert s.nelement() == t.nelement() == 60 and s.ndimension() == t.ndimension() == 3
    for name in ["short", "byte", "char"]:
        assert str(getattr(s.abs(), name)().dtype).split(".")[-1] == str(getattr(t.abs(), name)().dtype).split(".")[-1]
    with pytest.raises(TypeError, match="bfloat16 is not supported"):
        s.bfloat16()


def test_narrow_and_select_errors_as_torch() -> None:
    s, t = shenjing.zeros(2, 3), torch.zeros(2, 3)
    for call in [lambda v: v.narrow(1, 4, 1), lambda v: v.narrow(1, 2, 2), lambda v: v.select(1, 3),
                 lambda v: v.narrow(2, 0, 1), lambda v: v.select(-3, 0)]:
        with pytest.raises((IndexError, RuntimeError)) as theirs:
            call(t)
        with pytest.raises(type(theirs.value)) as ours:
            call(s)
        assert str(ours.value).split(" ")[0] == str(theirs.value).split(" ")[0], (str(ours.value), str(theirs.value))
    assert s.narrow(0, shenjing.tensor(1), 1).shape == (1, 3)  # a one-element tensor as the start, as PyTorch


def test_narrow_is_a_view_sharing_storage() -> None:
    s = shenjing.zeros(4, 3)
    s.narrow(0, 1, 2).fill_(7.0)
    assert s.sum().item() == 42.0


def test_deprecated_add_overload_warns_and_adds_as_torch() -> None:
    """``p.data.add_(-lr, p.grad.data)`` (pytorch/examples word_language_model's update) still works, with
    PyTorch's deprecation warning, for add_, add, sub_ and sub."""
    for name in ["add_", "add", "sub_", "sub"]:
        ours, theirs = shenjing.ones(3), torch.ones(3)
        g_ours, g_theirs = shenjing.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0])
        with pytest.warns(UserWarning, match=f"This overload of {name} is deprecated") as got:
            out = getattr(ours, name)(-0.5, g_ours)
        assert got[0].filename == __file__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(theirs, name)(-0.5, g_theirs)
        np.testing.assert_allclose(out.numpy(), expected.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shenjing.ones(3).add_(shenjing.ones(3), alpha=2)  # the current signature is silent


P = rng.uniform(0.5, 1.5, (3, 4))
P_ZERO = P.copy()
P_ZERO[1, 2] = 0.0  # a zero in one line: the product-of-the-others gradient without dividing by it

MORE = {
    "prod_all": (lambda t: t.prod(), lambda t: t.prod(), P),
    "prod_dim": (lambda t: t.prod(1), lambda t: t.prod(1), P),
    "prod_dim_keepdim_zero": (lambda t: t.prod(0, keepdim=True), lambda t: t.prod(0, keepdim=True), P_ZERO),
    "prod_all_zero": (lambda t: t.prod(), lambda t: t.prod(), P_ZERO),
    "torch.prod": (lambda t: shenjing.prod(t, -1), lambda t: torch.prod(t, -1), P),
    "erf": (lambda t: t.erf(), lambda t: t.erf(), X[0]),
    "erfinv": (lambda t: (t * 0.9).erfinv(), lambda t: (t * 0.9).erfinv(), np.tanh(X[0])),
    "unfold": (lambda t: t.unfold(1, 2, 1), lambda t: t.unfold(1, 2, 1), X[0]),
    "unfold_step": (lambda t: t.unfold(-1, 2, 2), lambda t: t.unfold(-1, 2, 2), X),
    "inner": (lambda t: t.inner(t[:2] * 2), lambda t: t.inner(t[:2] * 2), X[0]),
    "dist": (lambda t: t.dist(t * 0.5, 3), lambda t: t.dist(t * 0.5, 3), X[0]),
    "nan_to_num": (lambda t: (t.log()).nan_to_num(nan=1.5, neginf=-7.0), lambda t: (t.log()).nan_to_num(nan=1.5, neginf=-7.0),
                   np.array([[1.0, -1.0, 0.0, 2.0]])),
    "std_mean": (lambda t: shenjing.std_mean(t, 1)[0] + shenjing.std_mean(t, 1)[1],
                 lambda t: torch.std_mean(t, 1)[0] + torch.std_mean(t, 1)[1], X[0]),
    "var_mean": (lambda t: shenjing.var_mean(t, 0, correction=0)[0], lambda t: torch.var_mean(t, 0, correction=0)[0], X[0]),
    "meshgrid_ij": (lambda t: shenjing.meshgrid(t[0], t[1, :3], indexing="ij")[1] * 2,
                    lambda t: torch.meshgrid(t[0], t[1, :3], indexing="ij")[1] * 2, X[0]),
    "meshgrid_xy": (lambda t: shenjing.meshgrid(t[0], t[1, :3], t[2, :2], indexing="xy")[0],
                    lambda t: torch.meshgrid(t[0], t[1, :3], t[2, :2], indexing="xy")[0], X[0]),
    "broadcast_tensors": (lambda t: shenjing.broadcast_tensors(t[:, :1], t[:1])[0],
                          lambda t: torch.broadcast_tensors(t[:, :1], t[:1])[0], X[0]),
    "atleast_3d": (lambda t: shenjing.atleast_3d(t[0]), lambda t: torch.atleast_3d(t[0]), X[0]),
}


@pytest.mark.parametrize("name", list(MORE))
def test_more_methods_match_torch_with_gradients(name: str) -> None:
    ours, theirs, x = MORE[name]
    if name == "nan_to_num":  # log of the negative and zero entries: NaN and −∞, both replaced
        with np.errstate(all="ignore"):
            check_torch(ours, theirs, [x.copy()], dtypes=("float64",))
        return
    check_torch(ours, theirs, [x.copy()])


def test_meshgrid_without_indexing_warns_as_torch_and_isclose_and_logspace_match() -> None:
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        grids = shenjing.meshgrid(shenjing.arange(3), shenjing.arange(2))
    assert [tuple(g.shape) for g in grids] == [(3, 2), (3, 2)]
    a, b = np.array([1.0, 1.0 + 1e-9, np.nan, 2.0]), np.array([1.0, 1.0, np.nan, 2.1])
    for equal_nan in (False, True):
        np.testing.assert_array_equal(shenjing.isclose(shenjing.tensor(a), shenjing.tensor(b), equal_nan=equal_nan).numpy(),
                                      torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan).numpy())
    np.testing.assert_allclose(shenjing.logspace(-2, 3, 6, base=2).numpy(), torch.logspace(-2, 3, 6, base=2).numpy(),
                               rtol=1e-6)
    assert shenjing.logspace(0, 1, 3).dtype == shenjing.float32
    assert tuple(shenjing.broadcast_shapes((3, 1), (1, 4), 4)) == tuple(torch.broadcast_shapes((3, 1), (1, 4), 4))
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        shenjing.broadcast_shapes((3,), (4,))
    x = shenjing.arange(4)
    assert x.prod().item() == 0 and x.prod().dtype == shenjing.int64  # integers multiply as int64


def test_unfold_errors_and_random_fills() -> None:
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 0 is 3 but size is 4"):
        shenjing.zeros(3).unfold(0, 4, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        shenjing.zeros(3).unfold(0, 2, 0)
    shenjing.manual_seed(0)
    mask = shenjing.empty(20000).bernoulli_(0.3)
    assert set(np.unique(mask.numpy())) <= {0.0, 1.0} and abs(mask.mean().item() - 0.3) < 0.02
    draws = shenjing.empty(20000).exponential_(2.0)
    assert draws.min().item() >= 0 and abs(draws.mean().item() - 0.5) < 0.02
    ints = shenjing.empty(5000, dtype=shenjing.int64).random_(3, 7)
    assert set(np.unique(ints.numpy())) == {3, 4, 5, 6}
    x = shenjing.ones(2)
    assert x.pin_memory() is x and x.share_memory_() is x and not x.is_pinned()


SPLITS = {
    "tensor_split_sections": (lambda t: t.tensor_split(3, 1)[2], lambda t: t.tensor_split(3, 1)[2]),
    "tensor_split_sections_first": (lambda t: t.tensor_split(3, 1)[0], lambda t: t.tensor_split(3, 1)[0]),
    "tensor_split_indices": (lambda t: t.tensor_split([1, -1, 7], 2)[1], lambda t: t.tensor_split([1, -1, 7], 2)[1]),
    "tensor_split_empty": (lambda t: t.tensor_split([3, 1], 0)[1] + 0, lambda t: t.tensor_split([3, 1], 0)[1] + 0),
    "hsplit": (lambda t: t.hsplit(2)[1], lambda t: t.hsplit(2)[1]),
    "vsplit": (lambda t: t.vsplit([1])[1], lambda t: t.vsplit([1])[1]),
    "torch.dstack": (lambda t: shenjing.dstack([t[0], t[1]]), lambda t: torch.dstack([t[0], t[1]])),
    "torch.dstack_1d": (lambda t: shenjing.dstack([t[0, 0], t[1, 1]]), lambda t: torch.dstack([t[0, 0], t[1, 1]])),
    "torch.column_stack": (lambda t: shenjing.column_stack([t[0, :, 0], t[1]]),
                           lambda t: torch.column_stack([t[0, :, 0], t[1]])),
    "fmod": (lambda t: t.fmod(0.7), lambda t: t.fmod(0.7)),
    "torch.fmod_tensor": (lambda t: shenjing.fmod(t * 3, t[0] + 2), lambda t: torch.fmod(t * 3, t[0] + 2)),
    "cross": (lambda t: t[:, :3].cross(t[:, 1:4], dim=1), lambda t: torch.linalg.cross(t[:, :3], t[:, 1:4], dim=1)),
    "torch.cross_default_dim": (lambda t: shenjing.cross(t[:, :3], t[:, 1:4], dim=1),
                                lambda t: torch.cross(t[:, :3], t[:, 1:4], dim=1)),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_splits_stacks_fmod_and_cross_match_torch(name: str) -> None:
    ours, theirs = SPLITS[name]
    check_torch(ours, theirs, [X.copy()])


def test_histc_mode_and_integer_fmod_match_torch() -> None:
    data = np.array([[1.0, 2.0, 2.0, 3.0, 3.0], [5.0, 4.0, 4.0, 5.0, 1.0], [7.0, 7.0, 7.0, 0.0, 7.0]])
    s, t = shenjing.tensor(data), torch.tensor(data)
    for kwargs in [{}, {"bins": 4}, {"bins": 3, "min": 1, "max": 5}]:
        np.testing.assert_array_equal(s.histc(**kwargs).numpy(), t.histc(**kwargs).numpy(), err_msg=str(kwargs))
    for dim in (0, 1, -1):
        ours, theirs = s.mode(dim), t.mode(dim)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert tuple(s.mode(1, keepdim=True).values.shape) == (3, 1)
    i = np.array([-7, 7, 5, -5])
    np.testing.assert_array_equal(shenjing.tensor(i).fmod(3).numpy(), torch.tensor(i).fmod(3).numpy())
    np.testing.assert_array_equal(shenjing.fmod(shenjing.tensor(i), 3).numpy(), torch.fmod(torch.tensor(i), 3).numpy())
    with pytest.raises(RuntimeError, match="must have length 3"):
        shenjing.zeros(2, 4).cross(shenjing.zeros(2, 4), dim=1)


def test_cat_of_mismatched_shapes_is_torchs_runtime_error() -> None:
    for ours, theirs in [(shenjing, torch)]:
        with pytest.raises(RuntimeError) as expected:
            theirs.cat([theirs.zeros(2, 5), theirs.zeros(4, 5)], 1)
        with pytest.raises(RuntimeError) as got:
            ours.cat([ours.zeros(2, 5), ours.zeros(4, 5)], 1)
        assert str(got.value) == str(expected.value)
        with pytest.raises(RuntimeError, match="Tensors must have same number of dimensions"):
            ours.cat([ours.zeros(2, 5), ours.zeros(5)])


SHAPE_MISTAKES = {
    "stack": lambda m: m.stack([m.zeros(2), m.zeros(3)]),
    "matmul": lambda m: m.zeros(2, 3) @ m.zeros(4, 5),
    "reshape": lambda m: m.zeros(2, 3).reshape(4, 2),
    "view": lambda m: m.zeros(2, 3).view(7),
    "add_broadcast": lambda m: m.zeros(2, 3) + m.zeros(4),
    "expand": lambda m: m.zeros(2, 3).expand(4, 4),
    "permute": lambda m: m.zeros(2, 3).permute(0, 0),
    "masked_fill": lambda m: m.zeros(2, 3).masked_fill(m.zeros(3, 2).bool(), 1.0),
    "where": lambda m: m.where(m.zeros(2, 3).bool(), m.zeros(4), m.zeros(2, 3)),
    "linear": lambda m: m.nn.functional.linear(m.zeros(2, 3), m.zeros(4, 5)),
    "split_zero": lambda m: m.zeros(2, 3).split(0),
    "split_negative": lambda m: m.zeros(2, 3).split(-1),
    "chunk_zero": lambda m: m.zeros(2, 3).chunk(0),
    "repeat_fewer_dims": lambda m: m.zeros(2, 3).repeat(2),
    "unsqueeze_range": lambda m: m.zeros(2, 3).unsqueeze(5),
    "flatten_range": lambda m: m.zeros(2, 3).flatten(3),
    "flatten_order": lambda m: m.zeros(2, 3, 4).flatten(2, 1),
    "unflatten_range": lambda m: m.zeros(2, 3).unflatten(4, (1, 3)),
}


@pytest.mark.parametrize("name", list(SHAPE_MISTAKES))
def test_shape_mistakes_raise_torchs_exception_class_naming_the_shapes(name: str) -> None:
    """No NumPy ValueError (or ZeroDivisionError) reaches the user: PyTorch's class, and the shapes named."""
    mistake = SHAPE_MISTAKES[name]
    with pytest.raises(Exception) as theirs:
        mistake(torch)
    with pytest.raises(type(theirs.value)) as ours:
        mistake(shenjing)
    message = str(ours.value)
    if type(theirs.value) is RuntimeError and "(input shapes:" in message:
        assert message.split(":")[0] in {"Stack", "MatMul", "Reshape", "Add", "Expand", "Permute", "Where", "Linear"}


def test_numpy_scalars_on_the_left_give_tensors_in_the_graph_as_torch() -> None:
    """``np.float32(2) * t`` is a Tensor that keeps the graph (NumPy defers to __array_priority__), with
    PyTorch's dtype: a NumPy scalar does not promote a float32 tensor."""
    for scalar, op in [(np.float32(2), "mul"), (np.float64(2), "mul"), (np.float64(3), "mod"), (np.int64(1), "add")]:
        ours_t, theirs_t = shenjing.tensor([1.0, 2.0], requires_grad=op != "mod"), torch.tensor([1.0, 2.0])
        apply = {"mul": lambda a, b: a * b, "mod": lambda a, b: a % b, "add": lambda a, b: a + b}[op]
        ours, theirs = apply(scalar, ours_t), apply(scalar, theirs_t)
        assert isinstance(ours, shenjing.Tensor), (scalar, op)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy())
        assert ours.requires_grad == (op != "mod")
    assert isinstance(np.ones(2) + shenjing.ones(2), shenjing.Tensor)


def test_a_result_too_large_to_allocate_is_a_runtime_error_naming_the_op() -> None:
    """NumPy's MemoryError (raised before any allocation for an impossible size) reaches no user: as PyTorch, a
    RuntimeError, here naming the op and the input's shape."""
    with pytest.raises(RuntimeError, match=r"Tile: .*allocate.*\(input shapes: \(2, 2\)\)"):
        shenjing.zeros(2, 2).repeat(10**6, 10**6)
