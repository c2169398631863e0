"""The Tensor API that PyTorch programs use: Size, dtype names, max/min return types, legacy constructors,
``new_*``, the default device and ``Generator`` — each checked against torch 2.13."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import torch

import shenjing


def _torch_text(text: str) -> str:
    return text.replace("torch.", "shenjing.")


# ---- Size ----------------------------------------------------------------------------------------------------
def test_size_is_a_tuple_printed_as_torch() -> None:
    x, tx = shenjing.zeros(2, 3), torch.zeros(2, 3)
    for got, expected in [(x.size(), tx.size()), (x.shape, tx.shape), (x.shape[1:], tx.shape[1:]),
                          (x.shape + (4,), tx.shape + (4,)), (shenjing.zeros(()).shape, torch.zeros(()).shape)]:
        assert isinstance(got, shenjing.Size) and isinstance(got, tuple)
        assert repr(got) == _torch_text(repr(expected)) and got == tuple(expected)
    assert x.size(0) == 2 and x.size(-1) == 3 and type(x.size(0)) is int
    assert x.shape.numel() == tx.shape.numel() == 6 and shenjing.Size([]).numel() == 1
    assert x.shape == (2, 3) and hash(x.shape) == hash((2, 3))
    assert pickle.loads(pickle.dumps(x.shape)) == x.shape
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(2)
    with pytest.raises(IndexError):
        tx.size(2)
    with pytest.raises(IndexError, match="no dimensions"):
        shenjing.tensor(1.0).size(0)
    with pytest.raises(IndexError):
        torch.tensor(1.0).size(0)


# ---- dtypes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                  "bool"])
def test_dtypes_print_as_torch_and_work_everywhere_a_dtype_does(name: str) -> None:
    d, td = getattr(shenjing, name), getattr(torch, name)
    assert repr(d) == _torch_text(repr(td)) and str(d) == _torch_text(str(td))
    x = shenjing.zeros(2, dtype=d)
    assert x.dtype is d and repr(x.dtype) == f"shenjing.{name}"
    assert x.dtype == np.dtype(name) and np.dtype(name) == x.dtype and x.dtype == name and x.dtype == d
    assert hash(d) == hash(np.dtype(name)) and {np.dtype(name): 1}[d] == 1
    assert d.itemsize == td.itemsize and d.is_floating_point == td.is_floating_point
    assert d.is_signed == td.is_signed
    assert np.zeros(2, dtype=d).dtype == np.dtype(name) and x.numpy().astype(d).dtype == np.dtype(name)
    assert pickle.loads(pickle.dumps(d)) is d
    assert x.to(d) is x and x.is_floating_point() == torch.zeros(2, dtype=td).is_floating_point()
    assert (d == None) is False and d != "not-a-dtype"  # noqa: E711


def test_dtype_inside_tensor_repr_and_type_names() -> None:
    x = shenjing.tensor([1.0, 2.0], dtype=shenjing.float64)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert repr(x) == _torch_text(repr(tx))
    assert repr(shenjing.tensor([1, 2], dtype=shenjing.int32)) == _torch_text(repr(torch.tensor([1, 2],
                                                                                             dtype=torch.int32)))
    for name in ("float32", "float64", "int64", "int32", "uint8", "bool", "float16"):
        t = torch.zeros(1, dtype=getattr(torch, name))
        assert shenjing.zeros(1, dtype=getattr(shenjing, name)).type() == _torch_text(t.type())
    assert shenjing.zeros(1).type("torch.LongTensor").dtype == shenjing.int64
    assert shenjing.zeros(1).type(shenjing.LongTensor).dtype == shenjing.int64
    assert repr(shenjing.get_default_dtype()) == _torch_text(repr(torch.get_default_dtype()))


# ---- max / min return types -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_dim_return_named_tuples(fn: str, keepdim: bool) -> None:
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], dtype=np.float32)
    x, tx = shenjing.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for sj_out, t_out in [(getattr(shenjing, fn)(x, 1, keepdim=keepdim), getattr(torch, fn)(tx, 1, keepdim=keepdim)),
                          (getattr(x, fn)(dim=0, keepdim=keepdim), getattr(tx, fn)(dim=0, keepdim=keepdim)),
                          (getattr(shenjing, fn)(x.data, 1, keepdim), getattr(torch, fn)(tx.data, 1, keepdim))]:
        assert type(sj_out).__name__ == type(t_out).__name__ == fn
        values, indices = sj_out
        assert values is sj_out.values and indices is sj_out.indices and sj_out[0] is values
        np.testing.assert_array_equal(values.detach().numpy(), t_out.values.detach().numpy())
        np.testing.assert_array_equal(indices.numpy(), t_out.indices.numpy())
        assert indices.dtype == shenjing.int64 and tuple(values.shape) == tuple(t_out.values.shape)
    assert repr(getattr(shenjing, fn)(x.data, 1)).startswith(f"shenjing.return_types.{fn}(\nvalues=tensor(")


def test_max_of_a_0d_tensor_along_dim() -> None:
    for dim in (0, -1):
        got, expected = shenjing.tensor(3.0).max(dim), torch.tensor(3.0).max(dim)
        assert got.values.item() == expected.values.item() and got.indices.item() == expected.indices.item()
        assert got.values.shape == () and got.indices.dtype == shenjing.int64


def test_return_type_factory_is_shared() -> None:
    from shenjing.return_types import return_type

    assert return_type("sort") is shenjing.return_types.sort
    t_sort = torch.sort(torch.tensor([2.0, 1.0]))
    assert shenjing.return_types.sort._fields == ("values", "indices") and t_sort.values is t_sort[0]
    pair = return_type("aminmax", ("min", "max"))(1, 2)
    assert pair.min == 1 and pair.max == 2


# ---- constructors -----------------------------------------------------------------------------------------------
def test_legacy_tensor_constructors() -> None:
    x, tx = shenjing.Tensor(2, 3), torch.Tensor(2, 3)
    assert x.shape == tx.shape and x.dtype == shenjing.float32 and isinstance(x, shenjing.Tensor)
    assert shenjing.Tensor(shenjing.Size([4, 1])).shape == (4, 1)
    assert shenjing.Tensor().shape == torch.Tensor().shape == (0,)
    for data in ([1, 2], np.array([1, 2]), np.array([0.5, 1.5]), [[1.5], [2.5]]):
        got, expected = shenjing.Tensor(data), torch.Tensor(data)
        assert str(got.dtype) == _torch_text(str(expected.dtype))
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor",
                 "HalfTensor"):
        got, expected = getattr(shenjing, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert isinstance(got, shenjing.Tensor) and isinstance(got, getattr(shenjing, name))
        assert str(got.dtype) == _torch_text(str(expected.dtype))
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        assert getattr(shenjing, name)(2, 2).shape == getattr(torch, name)(2, 2).shape
    assert isinstance(shenjing.zeros(2), shenjing.FloatTensor) and not isinstance(shenjing.zeros(2),
                                                                                   shenjing.LongTensor)
    with pytest.raises(TypeError, match="sizes"):
        shenjing.Tensor([1], [2])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_new_methods_keep_dtype_and_device(dtype: str) -> None:
    x, tx = shenjing.zeros(2, dtype=getattr(shenjing, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
    pairs = [
        (x.new_tensor([1, 2, 3]), tx.new_tensor([1, 2, 3])),
        (x.new_tensor([0.5]), tx.new_tensor([0.5])),
        (x.new_zeros(2, 3), tx.new_zeros(2, 3)),
        (x.new_zeros((2,)), tx.new_zeros((2,))),
        (x.new_ones(3), tx.new_ones(3)),
        (x.new_full((2, 2), 7), tx.new_full((2, 2), 7)),
        (x.new_ones(2, dtype=shenjing.float64), tx.new_ones(2, dtype=torch.float64)),
    ]
    for got, expected in pairs:
        assert str(got.dtype) == _torch_text(str(expected.dtype)) and got.shape == expected.shape
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        assert got.device == x.device
    assert x.new_empty(4, 1).shape == (4, 1) and x.new_empty(4).dtype == x.dtype
    if dtype != "int64":
        assert x.new_zeros(2, requires_grad=True).requires_grad


def test_default_device() -> None:
    assert shenjing.get_default_device() == "cpu" and str(shenjing.get_default_device()) == "cpu"
    shenjing.set_default_device("cpu")
    assert shenjing.zeros(1).device == "cpu"
    shenjing.set_default_device(None)
    assert shenjing.get_default_device() == "cpu"
    with pytest.raises(RuntimeError, match="device"):
        shenjing.set_default_device("tpu")


def test_set_default_device_cuda_without_a_gpu_raises_clearly() -> None:
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed; the GPU suite covers cuda")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="CuPy"):
        shenjing.set_default_device("cuda")
    assert shenjing.get_default_device() == "cpu"


# ---- Generator --------------------------------------------------------------------------------------------------
def test_generator_seeds_and_states() -> None:
    g = shenjing.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    a = shenjing.rand(4, generator=g)
    b = shenjing.rand(4, generator=shenjing.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # reproducible (not torch's numbers)
    state = g.get_state()
    assert state.dtype == shenjing.uint8 and state.dtype == torch.Generator().get_state().numpy().dtype
    first = shenjing.randn(3, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(first.numpy(), shenjing.randn(3, generator=g).numpy())
    chosen = g.seed()
    assert g.initial_seed() == chosen and isinstance(chosen, int)
    with pytest.raises(RuntimeError, match="set_state"):
        g.set_state(shenjing.tensor([1, 2, 3], dtype=shenjing.uint8))


def test_generator_in_creation_functions_leaves_the_global_stream_alone() -> None:
    shenjing.manual_seed(0)
    plain = shenjing.rand(3).numpy()
    shenjing.manual_seed(0)
    g = shenjing.Generator().manual_seed(1)
    shenjing.randn(2, 2, generator=g)
    ints = shenjing.randint(0, 10, (5,), generator=g)
    perm = shenjing.randperm(6, generator=g)
    np.testing.assert_array_equal(shenjing.rand(3).numpy(), plain)
    assert ints.dtype == shenjing.int64 and sorted(perm.tolist()) == list(range(6))
    rng = g.rng if g is not None else None
    assert hasattr(rng, "random")
    assert shenjing.default_generator.rng is shenjing.backend.get_backend("cpu").generator


def test_dtypes_save_and_load_as_dtypes(tmp_path: object) -> None:
    path = str(tmp_path) + "/state.sj"  # type: ignore[operator]
    shenjing.save({"dtype": shenjing.float64, "numpy": np.dtype("int32")}, path)
    loaded = shenjing.load(path)
    assert loaded["dtype"] is shenjing.float64 and loaded["numpy"] == shenjing.int32


def test_nn_init_takes_a_generator() -> None:
    w1, w2 = shenjing.empty(3, 4), shenjing.empty(3, 4)
    shenjing.nn.init.kaiming_uniform_(w1, generator=shenjing.Generator().manual_seed(5))
    shenjing.nn.init.kaiming_uniform_(w2, generator=shenjing.Generator().manual_seed(5))
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name: str) -> None:
    got, expected = shenjing.finfo(getattr(shenjing, name)), torch.finfo(getattr(torch, name))
    for field in ("eps", "max", "min", "tiny", "bits", "resolution"):
        assert getattr(got, field) == getattr(expected, field), field
    assert got.dtype == expected.dtype
    assert float(shenjing.finfo().eps) == float(torch.finfo().eps)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name: str) -> None:
    got, expected = shenjing.iinfo(getattr(shenjing, name)), torch.iinfo(getattr(torch, name))
    assert (got.max, got.min, got.bits, got.dtype) == (expected.max, expected.min, expected.bits, expected.dtype)
    assert shenjing.zeros(1, dtype=getattr(shenjing, name)).dtype.str == np.dtype(name).str


def test_manual_seed_returns_the_default_generator() -> None:
    g = shenjing.manual_seed(123)
    assert g is shenjing.default_generator and isinstance(g, shenjing.Generator)
    assert isinstance(torch.manual_seed(123), torch.Generator)
    assert shenjing.initial_seed() == 123 == g.initial_seed()
    first = shenjing.rand(2).numpy()
    shenjing.manual_seed(123)
    np.testing.assert_array_equal(shenjing.rand(2, generator=shenjing.default_generator).numpy(), first)
    chosen = shenjing.seed()
    assert shenjing.initial_seed() == chosen
    shenjing.manual_seed(0)


def test_normal_bernoulli_randint_like_shapes_dtypes_and_statistics() -> None:
    g = shenjing.Generator().manual_seed(0)
    mean, std = shenjing.zeros(20000, 2) + shenjing.tensor([1.0, -2.0]), shenjing.tensor([0.5, 2.0])
    cases = [
        (shenjing.normal(mean, std, generator=g), torch.normal(torch.tensor(mean.numpy()), torch.tensor(std.numpy()))),
        (shenjing.normal(2.0, 3.0, (4, 5), generator=g), torch.normal(2.0, 3.0, (4, 5))),
        (shenjing.normal(mean.double(), 1.0), torch.normal(torch.tensor(mean.numpy()).double(), 1.0)),
    ]
    for got, expected in cases:
        assert got.shape == expected.shape and str(got.dtype) == _torch_text(str(expected.dtype))
    draws = cases[0][0].numpy()
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(draws.std(0), [0.5, 2.0], rtol=0.05)
    with pytest.raises(RuntimeError, match="std >= 0"):
        shenjing.normal(0.0, -1.0, (2,))
    probs = shenjing.full((10000,), 0.3)
    coins = shenjing.bernoulli(probs, generator=g)
    assert coins.dtype == torch.bernoulli(torch.full((2,), 0.3)).numpy().dtype and set(coins.tolist()) == {0.0, 1.0}
    assert abs(coins.numpy().mean() - 0.3) < 0.02
    assert shenjing.bernoulli(probs, 1.0).numpy().min() == 1.0
    ints = shenjing.randint_like(shenjing.zeros(3, 4), 5, generator=g)
    t_ints = torch.randint_like(torch.zeros(3, 4), 5)
    assert ints.shape == t_ints.shape and str(ints.dtype) == _torch_text(str(t_ints.dtype))
    assert 0 <= ints.numpy().min() and ints.numpy().max() < 5


def test_a_generator_drives_shuffling_reproducibly() -> None:
    data = shenjing.data.TensorDataset(shenjing.arange(10))

    def order(seed: int) -> list:
        loader = shenjing.data.DataLoader(data, batch_size=10, shuffle=True,
                                          generator=shenjing.Generator().manual_seed(seed))
        return next(iter(loader))[0].tolist()

    assert order(3) == order(3) and sorted(order(3)) == list(range(10))
