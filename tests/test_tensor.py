"""Tensor creation, dtypes, conversion, in-place updates and Python protocol, as PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing


def test_python_floats_become_float32_and_arrays_keep_dtype() -> None:
    assert shenjing.tensor([0.1, 0.2]).dtype == shenjing.float32
    assert shenjing.tensor([1, 2]).dtype == shenjing.int64
    assert shenjing.tensor([True]).dtype == shenjing.bool
    assert shenjing.tensor(np.zeros(3)).dtype == shenjing.float64  # a float64 array stays float64
    assert shenjing.tensor(np.zeros(3, np.float32)).dtype == shenjing.float32
    assert shenjing.tensor([1.5], dtype=shenjing.float64).dtype == shenjing.float64
    assert torch.tensor(np.zeros(3)).dtype == torch.float64  # the convention we follow


def test_default_dtype_switch() -> None:
    shenjing.set_default_dtype(shenjing.float64)
    assert shenjing.tensor([0.5]).dtype == shenjing.float64
    assert shenjing.zeros(2).dtype == shenjing.float64
    assert shenjing.nn.Linear(2, 3).weight.dtype == shenjing.float64
    with pytest.raises(TypeError, match="floating"):
        shenjing.set_default_dtype(shenjing.int64)


def test_tensor_copies_its_data_but_from_numpy_shares() -> None:
    a = np.ones(3)
    t, shared = shenjing.tensor(a), shenjing.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 1.0 and shared[0].item() == 5.0


def test_factories() -> None:
    assert shenjing.zeros(2, 3).shape == (2, 3) and shenjing.ones((4,)).numpy().sum() == 4
    assert shenjing.arange(5).dtype == shenjing.int64 and shenjing.arange(0, 1, 0.25).shape == (4,)
    assert shenjing.full((2,), 7).dtype == shenjing.int64
    assert shenjing.eye(3).numpy().trace() == 3
    assert shenjing.linspace(0, 1, 5).numpy()[-1] == 1.0
    assert shenjing.zeros_like(shenjing.ones(2, dtype=shenjing.float64)).dtype == shenjing.float64
    r = shenjing.randint(0, 10, (100,))
    assert r.dtype == shenjing.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10


def test_manual_seed_makes_draws_reproducible() -> None:
    shenjing.manual_seed(42)
    a = shenjing.randn(5).numpy().copy()
    shenjing.manual_seed(42)
    np.testing.assert_array_equal(a, shenjing.randn(5).numpy())
    state = shenjing.get_rng_state()
    b = shenjing.rand(3).numpy().copy()
    shenjing.set_rng_state(state)
    np.testing.assert_array_equal(b, shenjing.rand(3).numpy())


def test_item_numpy_tolist_and_conversions() -> None:
    t = shenjing.tensor([[1.0, 2.0]], requires_grad=True)
    assert t.sum().item() == 3.0
    assert t.tolist() == [[1.0, 2.0]]
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        t.numpy()
    assert t.detach().numpy().shape == (1, 2)
    assert t.double().dtype == shenjing.float64 and t.long().dtype == shenjing.int64
    assert t.to(shenjing.float64).dtype == shenjing.float64
    assert float(shenjing.tensor(2.5)) == 2.5 and int(shenjing.tensor(3)) == 3
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        shenjing.tensor([1.0, 2.0]).item()
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0]])


def test_cast_is_differentiable() -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == shenjing.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        shenjing.tensor([1, 2], requires_grad=True)


def test_inplace_updates() -> None:
    t = shenjing.zeros(3)
    t += 1
    t *= 4
    t.add_(shenjing.ones(3), alpha=0.5).sub_(0.5)
    np.testing.assert_array_equal(t.numpy(), [4.0, 4.0, 4.0])
    leaf = shenjing.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.zero_()
    with shenjing.no_grad():
        leaf.mul_(3)
    np.testing.assert_array_equal(leaf.detach().numpy(), [3.0, 3.0])


def test_inplace_add_inside_graph_records_the_op() -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y += x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_setitem_and_comparisons() -> None:
    t = shenjing.zeros(4)
    t[1:3] = 5.0
    np.testing.assert_array_equal(t.numpy(), [0, 5, 5, 0])
    assert (t > 1).dtype == shenjing.bool and (t == 5).numpy().sum() == 2
    x = shenjing.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 3.0


def test_repr_looks_like_torch() -> None:
    assert repr(shenjing.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert "dtype=shenjing.float64" in repr(shenjing.tensor([1.0], dtype=shenjing.float64))
    assert "grad_fn=<MulBackward0>" in repr(shenjing.tensor([1.0], requires_grad=True) * 2)  # as PyTorch's


def test_shape_api() -> None:
    t = shenjing.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.dim() == 3 and t.numel() == 24
    assert t.view(6, 4).shape == (6, 4) and t.flatten().shape == (24,)
    assert t.permute(2, 0, 1).shape == (4, 2, 3) and t.unsqueeze(0).shape == (1, 2, 3, 4)
    assert len(t) == 2 and len(list(iter(t))) == 2
    assert shenjing.cat([t, t], 1).shape == (2, 6, 4) and shenjing.stack([t, t]).shape == (2, 2, 3, 4)


def test_argmax_and_reductions_on_ints() -> None:
    t = shenjing.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    np.testing.assert_array_equal(t.argmax(1).numpy(), [1, 0])
    assert t.argmax().item() == 3
    assert shenjing.tensor([True, False, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="floating point"):
        shenjing.arange(4).mean()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.sum(2)


def test_int_division_gives_default_float() -> None:
    assert (shenjing.tensor(2) / shenjing.tensor(3)).dtype == shenjing.float32


def test_device_is_cpu() -> None:
    t = shenjing.zeros(1)
    assert t.device == "cpu" and str(t.device) == "cpu" and t.cpu() is t


def test_data_is_a_detached_tensor_sharing_the_array_as_in_pytorch():
    w = shenjing.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    view = w.data
    assert isinstance(view, shenjing.Tensor) and not view.requires_grad and view.array is w.array
    w.data -= 0.25 * w.grad.data  # the classic hand-written SGD step: in place, unrecorded
    np.testing.assert_array_equal(w.array, [0.5, -1.0])
    assert w.requires_grad and w.is_leaf
    w.data = shenjing.tensor([3.0, 4.0])
    np.testing.assert_array_equal(w.detach().numpy(), [3.0, 4.0])


def test_tensor_method_groups_define_each_name_once() -> None:
    """Tensor is its core plus method groups (shenjing/_tensor_*.py) as bases: a name defined in two of them
    would silently shadow the other, so every public method lives in exactly one class of the MRO."""
    from shenjing._tensor_extra import ExtraMethods
    from shenjing._tensor_indexing import IndexingMethods
    from shenjing._tensor_inplace import InplaceMethods
    from shenjing._tensor_inplace_more import InplaceMoreMethods
    from shenjing._tensor_math import MathMethods
    from shenjing._tensor_math_more import MathMoreMethods
    from shenjing._tensor_more import MoreMethods
    from shenjing._tensor_shape import ShapeMethods

    classes = (shenjing.Tensor, MathMethods, ShapeMethods, InplaceMethods, IndexingMethods, MoreMethods,
               MathMoreMethods, InplaceMoreMethods, ExtraMethods)
    assert shenjing.Tensor.__mro__[1:-1] == classes[1:]
    owners: dict[str, list[str]] = {}
    for cls in classes:
        for name in vars(cls):
            if name not in ("__module__", "__qualname__", "__doc__", "__slots__", "__hash__", "__firstlineno__",
                            "__static_attributes__"):
                owners.setdefault(name, []).append(cls.__name__)
    assert {name: where for name, where in owners.items() if len(where) > 1} == {}
    assert owners["gather"] == ["IndexingMethods"] and owners["add_"] == ["InplaceMethods"]
    assert owners["__add__"] == ["MathMethods"] and owners["reshape"] == ["ShapeMethods"]
    assert owners["narrow"] == ["MoreMethods"]
    x = shenjing.tensor([1.0, 2.0])
    assert hash(x) == object.__hash__(x)  # MathMethods defines __eq__, which would make Tensor unhashable
    assert not hasattr(x, "__dict__")  # the groups add no instance dict (__slots__ = ())
