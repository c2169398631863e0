"""In-place writes into tensors that are part of a graph, against torch 2.13 side by side.

Each variant builds a non-leaf from the inputs, writes into it in place (``h[idx] = y``, ``h += 1``,
``h.mul_(y)``, ``h.relu_()``, ...) and returns it; forward values and every input's gradient must match
PyTorch's (float32 and float64), and central finite differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import shenjing

from helpers import check_gradients, check_torch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.standard_normal((4, 5))
Y4 = RNG.standard_normal(4)
Y5 = RNG.standard_normal(5)
Y23 = RNG.standard_normal((2, 3))
MASK = X > 0.2
IDX = np.array([3, 0, 2])


def _mask(lib):
    return lib.tensor(MASK)


def _idx(lib):
    return lib.tensor(IDX)


# name -> (fn(lib, *tensors), inputs); every fn writes only into tensors it made (never into its inputs)
VARIANTS = {
    "column_slice_from_y": (lambda lib, x, y: _set(x * 2, (slice(None), 0), y), [X, Y4]),
    "row_from_y_then_mul": (lambda lib, x, y: _chain(x * 1.5, lambda h: _set(h, 1, y), lambda h: h.mul_(x)), [X, Y5]),
    "broadcast_value_into_block": (lambda lib, x, y: _set(x * x, (slice(1, 3), slice(None)), y), [X, Y5]),
    "scalar_into_slice": (lambda lib, x: _set(x * 3, (slice(None), slice(1, 4)), 0.0), [X]),
    "strided_slice": (lambda lib, x, y: _set(x.sin(), (slice(None, None, 2), slice(None, 3)), y), [X, Y23]),
    "boolean_mask_scalar": (lambda lib, x: _set(x * x, _mask(lib), 1.0), [X]),
    "boolean_mask_tensor_value": (lambda lib, x, y: _set(x * 2, _mask(lib), y.sum() * 1), [X, Y4]),
    "integer_array_rows": (lambda lib, x, y: _set(x + 1, _idx(lib), y), [X, Y5]),
    "integer_array_pairs": (lambda lib, x, y: _set(x * 2, (_idx(lib), lib.tensor([0, 4, 1])), y[:3]), [X, Y4]),
    "into_fresh_zeros": (lambda lib, x, y: _set(lib.zeros_like(x), (slice(None), 2), y), [X, Y4]),
    "iadd_isub_imul_idiv": (lambda lib, x, y: _chain(x * 2, _iadd(y), _isub(1.0), _imul(y), _idiv(3.0)), [X, Y5]),
    "ops_from_issue": (lambda lib, x: _chain(x * 2, _iadd(1), lambda h: _set(h, 0, 0.0), lambda h: h.mul_(3)), [X]),
    "add_sub_alpha": (lambda lib, x, y: _chain(x * 1, lambda h: h.add_(y, alpha=2), lambda h: h.sub_(y, alpha=0.5)),
                      [X, Y5]),
    "div_by_tensor": (lambda lib, x, y: _chain(x * 1, lambda h: h.div_(y.exp())), [X, Y5]),
    "add_then_relu_": (lambda lib, x: _chain(x * 2, lambda h: h.add_(-0.3), lambda h: h.relu_()), [X]),
    "add_then_sigmoid_": (lambda lib, x: _chain(x * 2, lambda h: h.add_(-0.3), lambda h: h.sigmoid_()), [X]),
    "tanh_then_mul": (lambda lib, x: _chain(x * 2, lambda h: h.tanh_()) * 3, [X]),
    "neg_abs_exp": (lambda lib, x: _chain(x * 0.5, lambda h: h.neg_(), lambda h: h.abs_(), lambda h: h.exp_()), [X]),
    "sqrt_log_on_positive": (lambda lib, x: _chain(x * x + 1, lambda h: h.log_(), lambda h: h.sqrt_()), [X]),
    "clamp_": (lambda lib, x: _chain(x * 2, lambda h: h.clamp_(-1.0, 0.8)), [X]),
    "pow_": (lambda lib, x: _chain(x * 1, lambda h: h.pow_(2)), [X]),
    "zero_then_add": (lambda lib, x, y: _chain(x * 2, lambda h: h.zero_(), lambda h: h.add_(y)), [X, Y5]),
    "fill_with_tensor": (lambda lib, x, y: _chain(x * 2, lambda h: h.fill_(y.sum())), [X, Y4]),
    "copy_broadcast": (lambda lib, x, y: _chain(x * 2, lambda h: h.copy_(y)), [X, Y5]),
    "copy_into_slice_view_of_fresh": (lambda lib, x, y: _chain(lib.zeros_like(x), lambda h: _set(h, 0, y),
                                                               lambda h: h.mul_(x)), [X, Y5]),
    "masked_fill_": (lambda lib, x, y: _chain(x * 2, lambda h: h.masked_fill_(_mask(lib), y.sum())), [X, Y4]),
    "earlier_consumer_keeps_old_value": (lambda lib, x: _earlier_consumer(x), [X]),
    "value_used_after_write": (lambda lib, x, y: _value_reused(x, y), [X, Y4]),
}


def _set(h, index, value):
    h[index] = value
    return h


def _chain(h, *steps):
    for step in steps:
        out = step(h)
        assert out is None or out is h, "an in-place method must return the tensor itself"
    return h


def _iadd(v):
    def step(h):
        h += v
    return step


def _isub(v):
    def step(h):
        h -= v
    return step


def _imul(v):
    def step(h):
        h *= v
    return step


def _idiv(v):
    def step(h):
        h /= v
    return step


def _earlier_consumer(x):
    h = x * 2
    z = h + 1  # Add saves nothing: writing h afterwards is allowed and z keeps h's old value
    h.mul_(3)
    return (z * 2 + h).sum(dim=0)


def _value_reused(x, y):
    h = x * 1
    h[:, 1] = y
    return h * y.sum()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_inplace_matches_torch(name: str) -> None:
    fn, inputs = VARIANTS[name]
    check_torch(lambda *t: fn(shenjing, *t), lambda *t: fn(torch, *t), inputs)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_inplace_matches_finite_differences(name: str) -> None:
    fn, inputs = VARIANTS[name]
    if name in ("add_then_relu_", "clamp_", "neg_abs_exp"):  # kinks: keep away from them
            inputs = [np.where(np.abs(x * 2 - 0.3) < 1e-3, 0.1, x) for x in inputs]
    check_gradients(lambda *t: fn(shenjing, *t), inputs)


def test_inplace_rebases_grad_fn_and_bumps_version() -> None:
    a = shenjing.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = a * 2
    before = h.grad_fn
    assert h._version == 0
    h += 1
    assert h.grad_fn is not before and h._version == 1
    h[0] = 0
    h.mul_(3)
    assert h._version == 3 and not h.is_leaf and h.requires_grad
    h.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 6.0, 6.0])


def test_version_is_shared_with_views_as_torch() -> None:
    for lib in (shenjing, torch):
        x = lib.zeros(4)
        v = x[1:3]
        with lib.no_grad():
            v.add_(1)
        assert x._version == v._version == 1
        x[0] = 5.0
        assert v._version == 2
        np.testing.assert_array_equal(np.asarray(x), [5.0, 1.0, 1.0, 0.0])


def test_setitem_on_leaf_that_requires_grad_raises_as_torch() -> None:
    for lib in (shenjing, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x[0] = 2.0
        for op in (lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.zero_(), lambda t: t.relu_(),
                   lambda t: t.clamp_(0, 1), lambda t: t.copy_(lib.zeros(3)), lambda t: t.fill_(1.0)):
            with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
                op(x)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x += 1


@pytest.mark.parametrize("case", ["mul_saves_input", "exp_saves_output", "setitem_into_saved", "view_of_saved",
                                  "inplace_sqrt_then_add", "inplace_sigmoid_then_tanh"])
def test_modified_saved_tensor_raises_at_backward_as_torch(case: str) -> None:
    def build(lib):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = a * 2
        if case == "mul_saves_input":
            out = h * h
            h.add_(1)
        elif case == "exp_saves_output":
            out = h.exp()
            out.mul_(2)
        elif case == "setitem_into_saved":
            out = h * a
            h[1] = 0.0
        elif case == "view_of_saved":
            out = h.sin()
            h[1:].add_(1)
        elif case == "inplace_sqrt_then_add":
            out = h.sqrt_()
            out.add_(1)
        else:
            out = h.sigmoid_()
            out.tanh_()
        return out

    for lib in (shenjing, torch):
        out = build(lib)  # the write itself is allowed ...
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                               "modified by an inplace operation"):
            out.sum().backward()  # ... backward through the stale value is not


def test_relu_saves_its_result_so_a_later_write_is_refused_as_torch() -> None:
    # ReLU's backward reads ReLU′ off its saved output a (1[a > 0]), as PyTorch's: so `h.relu_(); h *= 2` is
    # refused at backward in both, rather than silently using the doubled values
    for lib in (shenjing, torch):
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = a * 2
        h.relu_()
        h *= 2
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()
    a = shenjing.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = (a * 2).relu()
    (h.clone() * 2).sum().backward()  # the hint's way out: write into a clone
    np.testing.assert_array_equal(a.grad.numpy(), [4.0, 0.0, 4.0])


def test_write_not_needed_by_backward_is_allowed_as_torch() -> None:
    grads = []
    for lib in (shenjing, torch):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = a * 2
        out = h + 1  # Add saves nothing
        h.add_(5)
        out.sum().backward()
        grads.append(np.asarray(a.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_no_grad_writes_into_parameters_stay_plain() -> None:
    for lib in (shenjing, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        with lib.no_grad():
            w -= 0.5 * w.grad
            w.add_(1).mul_(2)
            w[0] = 7.0
            w.clamp_(max=6.5).zero_().fill_(3.0).copy_(lib.tensor([4.0, 5.0]))
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        np.testing.assert_array_equal(w.detach().numpy(), [4.0, 5.0])
        assert w._version == 8


def test_data_writes_are_not_recorded() -> None:
    w = shenjing.tensor([1.0, 2.0], requires_grad=True)
    w.data -= 1.0
    w.data[0] = 10.0
    w.data.mul_(2)
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.detach().numpy(), [20.0, 2.0])


def test_broadcast_result_larger_than_target_raises_as_torch() -> None:
    for lib in (shenjing, torch):
        a = lib.ones(3, requires_grad=True)
        h = a * 2
        with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
            h.add_(lib.ones(2, 3))


def test_write_into_plain_tensor_makes_it_part_of_the_graph() -> None:
    y = shenjing.tensor([1.0, 2.0], requires_grad=True)
    buf = shenjing.zeros(2, 2)
    assert buf.is_leaf and not buf.requires_grad
    buf[1] = y * 3
    assert buf.requires_grad and buf.grad_fn is not None
    buf.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_retain_graph_twice_through_inplace_chain() -> None:
    a = shenjing.tensor([1.0, -2.0], requires_grad=True)
    h = a * 3
    h *= a
    h.relu_()
    h.sum().backward(retain_graph=True)
    h.sum().backward()
    t = torch.tensor([1.0, -2.0], requires_grad=True)
    g = t * 3
    g *= t
    g.relu_()
    g.sum().backward(retain_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy())


def test_optimizer_steps_keep_working(tmp_path) -> None:
    model = shenjing.nn.Linear(3, 2)
    opt = shenjing.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = shenjing.randn(4, 3)
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    assert all(p.is_leaf and p.requires_grad for p in model.parameters())


def _through(h, write):
    write(h)
    return h


VIEW_VARIANTS = {
    "row_view_mul_": lambda lib, x, y: _through(x * 2, lambda h: h[1].mul_(y)),
    "column_view_add_": lambda lib, x, y: _through(x * 2, lambda h: h[:, 2].add_(y[:4])),
    "flat_view_add_": lambda lib, x, y: _through(x * 1.5, lambda h: h.view(-1)[3:8].add_(y)),
    "reshape_view_relu_": lambda lib, x, y: _through(x * y, lambda h: h.reshape(20).relu_()),
    "transposed_view_add_": lambda lib, x, y: _through(x * y, lambda h: h.t()[1].add_(y[:4])),
    "strided_view_copy_": lambda lib, x, y: _through(x * 1, lambda h: h[::2, 1:].copy_(y[:4])),
    "view_of_view": lambda lib, x, y: _through(x * 3, lambda h: h[1:][:, 1:3][0].mul_(y[:2])),
    "view_used_after_write": lambda lib, x, y: _view_then_use(x, y),
}


def _view_then_use(x, y):
    h = x * 2
    v = h[2]
    v.mul_(y)
    return h.sum(dim=0) + v * 3


@pytest.mark.parametrize("name", sorted(VIEW_VARIANTS))
def test_inplace_through_views_matches_torch(name: str) -> None:
    fn = VIEW_VARIANTS[name]
    check_torch(lambda *t: fn(shenjing, *t), lambda *t: fn(torch, *t), [X, Y5])
    check_gradients(lambda *t: fn(shenjing, *t), [np.where(np.abs(X) < 1e-3, 0.1, X), Y5])


def test_inplace_on_view_of_leaf_raises_as_torch() -> None:
    for lib in (shenjing, torch):
        x = lib.ones(3, 2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            x[0].mul_(2)


def _view_taken_before_write(x, y):
    h = x * 2
    v = h[1]  # a view of h ...
    w = h.t()[2]
    h.mul_(y)  # ... then h is written: v and w now read the new values, with the new history
    return v * 3 + w[:5].sum() + h.sum()


def _view_of_view_taken_before_write(x, y):
    h = x * 1
    v = h.view(20)[2:7]
    h[0] = y
    return v * v


@pytest.mark.parametrize("fn", [_view_taken_before_write, _view_of_view_taken_before_write])
def test_views_taken_before_a_write_see_it_as_torch(fn) -> None:
    check_torch(fn, fn, [X, Y5])
    check_gradients(fn, [X, Y5])


def _random_program(lib, seed, x, y):
    """Six random steps: take views (rows, transposed rows, flat slices), write in place into h or a view
    (mul_, add_, tanh_, +=, slice assignment), or replace h by an out-of-place product."""
    rng = np.random.default_rng(seed)
    h = x * 1.5
    views = []
    for _ in range(6):
        k = rng.integers(0, 9)
        target = views[rng.integers(len(views))] if views and rng.random() < 0.5 else h
        if k == 0:
            views.append(h[rng.integers(0, 4)])
        elif k == 1:
            views.append(h.t()[rng.integers(0, 5)])
        elif k == 2:
            views.append(h.view(-1)[2:9])
        elif k == 3:
            target.mul_(1.1)
        elif k == 4:
            target.add_(y.sum() * 0.1)
        elif k == 5:
            h[rng.integers(0, 4), 1:3] = y[:2] * 2
        elif k == 6:
            target.tanh_()
        elif k == 7:
            h = h * y
        else:
            target += 0.5
    out = h.sum() * 1.0
    for v in views:
        out = out + (v * v).sum()
    return out


@pytest.mark.parametrize("seed", range(60))
def test_random_inplace_programs_match_torch_values_gradients_and_errors(seed: int) -> None:
    xs = np.random.default_rng(seed).standard_normal((4, 5))
    ys = np.random.default_rng(seed + 1).standard_normal(5)
    results = []
    for lib in (shenjing, torch):
        x, y = lib.tensor(xs, requires_grad=True), lib.tensor(ys, requires_grad=True)
        try:
            out = _random_program(lib, seed, x, y)
            out.backward()
        except RuntimeError as error:
            assert "modified by an inplace operation" in str(error)
            results.append(None)
            continue
        results.append((out.item(), x.grad.numpy().copy(), np.zeros(5) if y.grad is None else y.grad.numpy().copy()))
    ours, theirs = results
    assert (ours is None) == (theirs is None), "one library refused the program and the other did not"
    if ours is not None:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.fixture
def fake_gpu():
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    yield
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _device_program(device: str) -> tuple:
    x = shenjing.tensor(X, requires_grad=True)
    y = shenjing.tensor(Y5, requires_grad=True)
    xd, yd = x.to(device), y.to(device)
    h = xd * 2
    h[0] = yd * 3
    h += 1
    h[1].mul_(yd)
    h.mul_(2)
    h.relu_()  # (last: ReLU's backward reads its saved result, which a later write would make stale)
    v = h.t()[1]
    (h.sum() + (v * v).sum()).backward()
    z = xd * 1
    w = z * z
    z.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()
    return x.grad.numpy(), y.grad.numpy()


def test_inplace_through_the_backend_seam(fake_gpu) -> None:
    for ours, reference in zip(_device_program("cuda"), _device_program("cpu")):
        np.testing.assert_allclose(ours, reference, rtol=1e-12)


def _random_program_2(lib, seed, x, y):
    """Seven random steps over masks, integer rows, copy_/zero_/fill_/clamp_/sigmoid_/exp_/div_/sub_, views
    through reshape and permute, and earlier consumers of h (h * 2 saves h; h + 1 saves nothing)."""
    rng = np.random.default_rng(seed)
    h = x * 1.5
    keep, views = [], []
    for _ in range(7):
        k = rng.integers(0, 14)
        target = views[rng.integers(len(views))] if views and rng.random() < 0.4 else h
        if k == 0:
            views.append(h.reshape(5, 4)[1:3])
        elif k == 1:
            views.append(h.permute(1, 0)[::2])
        elif k == 2:
            h[lib.tensor(np.array([True, False, True, False]))] = y * 0.5
        elif k == 3:
            h[lib.tensor(np.array([2, 0]))] = y[:5] + 1
        elif k == 4:
            target.copy_(y[: target.shape[-1]] if target.shape[-1] <= 5 else y.sum())
        elif k == 5:
            target.zero_()
        elif k == 6:
            target.fill_(y[0])
        elif k == 7:
            target.clamp_(-0.5, 2.0)
        elif k == 8:
            target.sigmoid_()
        elif k == 9:
            target.exp_() if float(target.detach().abs().max()) < 5 else target.mul_(0.5)
        elif k == 10:
            keep.append(h * 2)
        elif k == 11:
            keep.append(h + 1)
        elif k == 12:
            target.div_(y.abs()[0] + 1)
        else:
            target.sub_(y.sum(), alpha=0.3)
    out = h.sum()
    for t in keep + views:
        out = out + (t * t).sum()
    return out


@pytest.mark.parametrize("seed", range(60))
def test_random_inplace_programs_2_match_torch(seed: int) -> None:
    xs = np.random.default_rng(seed).standard_normal((4, 5))
    ys = np.random.default_rng(seed + 9).standard_normal(5)
    results = []
    for lib in (shenjing, torch):
        x, y = lib.tensor(xs, requires_grad=True), lib.tensor(ys, requires_grad=True)
        try:
            out = _random_program_2(lib, seed, x, y)
            out.backward()
        except RuntimeError as error:
            assert "modified by an inplace operation" in str(error)
            results.append(None)
            continue
        results.append((out.item(), np.zeros((4, 5)) if x.grad is None else x.grad.numpy().copy(),
                        np.zeros(5) if y.grad is None else y.grad.numpy().copy()))
    ours, theirs = results
    assert (ours is None) == (theirs is None), "one library refused the program and the other did not"
    if ours is not None:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_saved_but_unneeded_value_may_be_written_as_torch() -> None:
    grads = []
    for lib in (shenjing, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 1
        out = h * 2  # saves h, but the gradient of a constant factor never needs it
        h.add_(1)
        out.sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
