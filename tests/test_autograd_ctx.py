"""PyTorch's custom-Function API (ctx style) beside ours, inference_mode, autograd.grad, Variable and hooks.

Every behaviour is run through shenjing and torch 2.13 side by side with the same code (``lib`` is either).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing

torch = pytest.importorskip("torch")

LIBS = [shenjing, torch]


def _legendre(lib):
    """The pytorch tutorials' ``LegendrePolynomial3`` (polynomial_custom_function.py), unchanged."""

    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):  # noqa: A002
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors  # noqa: A001
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


def _tutorial_training(lib, steps: int = 60) -> list:
    dtype = lib.float64
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = lib.sin(x)
    a = lib.full((), 0.0, dtype=dtype, requires_grad=True)
    b = lib.full((), -1.0, dtype=dtype, requires_grad=True)
    c = lib.full((), 0.0, dtype=dtype, requires_grad=True)
    d = lib.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    P3 = _legendre(lib).apply
    losses = []
    for _ in range(steps):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses + [t.item() for t in (a, b, c, d)]


def test_legendre_tutorial_trains_as_torch() -> None:
    np.testing.assert_allclose(_tutorial_training(shenjing), _tutorial_training(torch), rtol=1e-10, atol=1e-12)


def test_legendre_gradient_and_grad_fn_name() -> None:
    for lib in LIBS:
        x = lib.tensor([-0.5, 0.25, 2.0], dtype=lib.float64, requires_grad=True)
        out = _legendre(lib).apply(x)
        assert "LegendrePolynomial3Backward" in repr(out.grad_fn)
        out.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * x.detach().numpy() ** 2 - 1))


def _two_outputs(lib):
    class MulAdd(lib.autograd.Function):
        """(x·y, x + k·y) with a non-tensor k; ctx carries k and the needs_input_grad flags."""

        @staticmethod
        def forward(ctx, x, y, k):
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * y, x + k * y

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            x, y = ctx.saved_tensors
            assert ctx.needs_input_grad[2] is False
            gx = g_prod * y + g_sum if ctx.needs_input_grad[0] else None
            gy = g_prod * x + ctx.k * g_sum if ctx.needs_input_grad[1] else None
            return gx, gy, None

    return MulAdd


@pytest.mark.parametrize("use", ["both", "first", "second"])
@pytest.mark.parametrize("y_grad", [True, False])
def test_two_output_function_matches_torch(use: str, y_grad: bool) -> None:
    rng = np.random.default_rng(0)
    xs, ys, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    grads = []
    for lib in LIBS:
        x = lib.tensor(xs, requires_grad=True)
        y = lib.tensor(ys, requires_grad=y_grad)
        prod, total = _two_outputs(lib).apply(x, y, 3.0)
        loss = {"both": (prod * lib.tensor(w)).sum() + total.sum(), "first": prod.sum(), "second": total.sum()}[use]
        loss.backward()
        grads.append((x.grad.numpy(), None if y.grad is None else y.grad.numpy(), prod.detach().numpy()))
    for ours, theirs in zip(grads[0], grads[1]):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_set_materialize_grads_false_passes_none_for_unused_outputs() -> None:
    seen = {}
    for lib in LIBS:

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen[lib.__name__] = (g1 is None, g2 is None)
                return (g1 * 2 if g1 is not None else 0) + (g2 * 3 if g2 is not None else 0)

        x = lib.ones(2, requires_grad=True)
        a, _ = Split.apply(x)
        a.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert seen["shenjing"] == seen["torch"] == (False, True)


def test_mark_non_differentiable_output() -> None:
    for lib in LIBS:

        class MaxWithIndex(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                values, indices = x.max(dim=0)
                ctx.mark_non_differentiable(indices)
                ctx.save_for_backward(x, indices)
                return values, indices

            @staticmethod
            def backward(ctx, g, _g_indices):
                x, indices = ctx.saved_tensors
                out = lib.zeros_like(x)
                out[indices, lib.arange(x.shape[1])] = g
                return out

        x = lib.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
        values, indices = MaxWithIndex.apply(x)
        assert values.requires_grad and not indices.requires_grad
        values.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0], [1.0, 0.0]])


def test_mark_dirty_inplace_forward() -> None:
    results = []
    for lib in LIBS:

        class Double_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 3
        out = Double_.apply(h)
        assert out is h and h._version == 2
        (out * out).sum().backward()
        results.append((a.grad.numpy(), h.detach().numpy()))
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            Double_.apply(lib.ones(2, requires_grad=True))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_keyword_and_non_tensor_arguments_and_once_differentiable() -> None:
    from shenjing.autograd.function import once_differentiable

    for lib, deco in ((shenjing, once_differentiable), (torch, torch.autograd.function.once_differentiable)):

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k=2, label="x"):
                ctx.k, ctx.label = k, label
                return x * k

            @staticmethod
            @deco
            def backward(ctx, g):
                assert ctx.label == "y"
                return g * ctx.k, None, None

        x = lib.ones(3, requires_grad=True)
        Scale.apply(x, k=4, label="y").sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])


def _bad_function(lib, kind: str):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            if kind == "too_few":
                return (g * 2,)
            if kind == "grad_for_number":
                return g * 2, g
            if kind == "wrong_shape":
                return g[:1], None
            return g * 2, None, None  # "extra_nones": allowed

    return Bad


@pytest.mark.parametrize("kind, message", [
    ("too_few", r"function BadBackward returned an incorrect number of gradients \(expected 2, got 1\)"),
    ("grad_for_number", "function BadBackward returned a gradient different than None at position 2, but the "
                        "corresponding forward input was not a Variable"),
    ("wrong_shape", r"Function BadBackward returned an invalid gradient at index 0 - got \[1\] but expected shape "
                    r"compatible with \[3\]"),
])
def test_wrong_gradients_raise_torch_errors(kind: str, message: str) -> None:
    for lib in LIBS:
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=message):
            _bad_function(lib, kind).apply(x, 2.0).sum().backward()


def test_extra_none_gradients_are_accepted_and_broadcast_gradient_is_reduced() -> None:
    for lib in LIBS:
        x = lib.ones(3, requires_grad=True)
        _bad_function(lib, "extra_nones").apply(x, 2.0).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])

        class Wide(lib.autograd.Function):
            @staticmethod
            def forward(ctx, b):
                return b * 1

            @staticmethod
            def backward(ctx, g):
                return g.expand(4, 3)  # a gradient the input can be expanded to: summed back

        b = lib.ones(3, requires_grad=True)
        Wide.apply(b).sum().backward()
        np.testing.assert_array_equal(b.grad.numpy(), [4.0, 4.0, 4.0])


def test_saved_tensor_modified_in_place_raises_as_torch() -> None:
    for lib in LIBS:
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 1
        out = _legendre(lib).apply(h)
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation.*is at version 1; expected version 0"):
            out.sum().backward()


def test_saved_tensors_freed_after_backward_unless_retained() -> None:
    for lib in LIBS:
        x = lib.tensor([0.5], requires_grad=True)
        out = _legendre(lib).apply(x)
        out.backward(retain_graph=True)
        out.backward()
        np.testing.assert_allclose(x.grad.numpy(), [2 * 1.5 * (5 * 0.25 - 1)])
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.backward()


def test_apply_under_no_grad_and_without_grad_inputs_records_nothing() -> None:
    P3 = _legendre(shenjing)
    x = shenjing.tensor([1.0], requires_grad=True)
    with shenjing.no_grad():
        assert not P3.apply(x).requires_grad
    out = P3.apply(shenjing.tensor([1.0]))
    assert not out.requires_grad and out.grad_fn is None


def test_forward_runs_without_grad_recording() -> None:
    for lib in LIBS:

        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.inner = lib.is_grad_enabled()
                y = x * 2
                ctx.y_requires = y.requires_grad
                return y

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.ones(1, requires_grad=True)
        out = Probe.apply(x)
        assert out.grad_fn.inner is False and out.grad_fn.y_requires is False


def test_array_style_functions_still_work_beside_ctx_style() -> None:
    from shenjing.ops import elementwise as E

    x = shenjing.tensor([2.0, 3.0], requires_grad=True)
    out = E.Mul.apply(_legendre(shenjing).apply(x), x)
    out.sum().backward()
    v = np.array([2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * v**2 - 1) * v + 0.5 * (5 * v**3 - 3 * v), rtol=1e-6)


# ---- inference_mode ---------------------------------------------------------------------------------------
def test_inference_mode_forms() -> None:
    for lib in LIBS:
        x = lib.ones(2, requires_grad=True)
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            assert not (x * 2).requires_grad
            with lib.inference_mode(False):
                assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()
            assert lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()

        @lib.inference_mode()
        def f(t):
            return t * 2

        @lib.inference_mode
        def g(t):
            return t * 2

        @lib.no_grad()
        def h(t):
            return t * 2

        assert not f(x).requires_grad and not g(x).requires_grad and not h(x).requires_grad
        assert f.__name__ == "f" and lib.is_grad_enabled()
        with lib.inference_mode(mode=False):
            assert (x * 2).requires_grad


def test_bare_no_grad_decorator() -> None:
    @shenjing.no_grad
    def f(t):
        return t * 2

    assert not f(shenjing.ones(1, requires_grad=True)).requires_grad


# ---- autograd.grad ----------------------------------------------------------------------------------------
def test_autograd_grad_matches_torch_and_leaves_grad_untouched() -> None:
    values = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        h = x * w
        out = (h * h).sum()
        gx, gh = lib.autograd.grad(out, [x, h], retain_graph=True)
        assert x.grad is None and w.grad is None
        (gw,) = lib.autograd.grad(out, w, retain_graph=True)
        vec = lib.autograd.grad(h, x, grad_outputs=lib.tensor([1.0, 10.0, 100.0], dtype=lib.float64))[0]
        values.append([gx.numpy(), gh.numpy(), gw.numpy(), vec.numpy()])
    for ours, theirs in zip(*values):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_autograd_grad_errors_and_allow_unused() -> None:
    for lib in LIBS:
        x = lib.ones(2, requires_grad=True)
        unused = lib.ones(2, requires_grad=True)
        out = (x * 2).sum()
        with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used"):
            lib.autograd.grad(out, [x, unused], retain_graph=True)
        gx, gu = lib.autograd.grad(out, [x, unused], allow_unused=True, retain_graph=True)
        assert gu is None and gx.numpy().tolist() == [2.0, 2.0]
        gx, gu = lib.autograd.grad(out, [x, unused], materialize_grads=True, retain_graph=True)
        assert gu.numpy().tolist() == [0.0, 0.0]
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
            lib.autograd.grad(out, [lib.ones(2)])
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            lib.autograd.grad(x * 2, x)


def test_autograd_backward_function_form() -> None:
    for lib in LIBS:
        x = lib.ones(2, requires_grad=True)
        y = lib.ones(2, requires_grad=True)
        lib.autograd.backward([(x * 3).sum(), (x * y)], [None, lib.tensor([1.0, 2.0])])
        assert x.grad.numpy().tolist() == [4.0, 5.0] and y.grad.numpy().tolist() == [1.0, 2.0]
        z = lib.ones(2, requires_grad=True)
        (x * z).sum().backward(inputs=[z])
        assert x.grad.numpy().tolist() == [4.0, 5.0] and z.grad.numpy().tolist() == [1.0, 1.0]


# ---- Variable and hooks -----------------------------------------------------------------------------------
def test_variable_is_legacy_tensor() -> None:
    for lib in LIBS:
        from_list = lib.autograd.Variable(lib.tensor([1.0, 2.0]), requires_grad=True)
        assert isinstance(from_list, lib.Tensor) and from_list.requires_grad and from_list.is_leaf
        assert isinstance(from_list, lib.autograd.Variable)
        plain = lib.autograd.Variable(lib.tensor([1.0]))
        assert not plain.requires_grad
        (from_list * 2).sum().backward()
        assert from_list.grad.numpy().tolist() == [2.0, 2.0]
    assert shenjing.autograd.Variable(shenjing.tensor([1.0]), volatile=True).shape == (1,)


def test_register_hook_on_leaf_and_non_leaf() -> None:
    results = []
    for lib in LIBS:
        seen = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        h = x * 3
        handle = h.register_hook(lambda g: seen.append(g.numpy().copy()))
        h.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
        handle.remove()
        (x * 3).sum().backward()
        results.append((x.grad.numpy().copy(), seen[0]))
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(1).register_hook(lambda g: g)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_retain_grad_on_output_of_multi_output_function() -> None:
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        prod, total = _two_outputs(lib).apply(x, x * 1, 2.0)
        total.retain_grad()
        (prod + total * 5).sum().backward()
        assert total.grad.numpy().tolist() == [5.0, 5.0]


def test_next_functions_walk_like_torch() -> None:
    names = []
    for lib in LIBS:
        w = lib.ones(2, requires_grad=True)
        loss = ((w * 2) + lib.ones(2)).sum()
        first = loss.grad_fn.next_functions[0][0]
        second = first.next_functions[0][0]
        leaf = second.next_functions[0][0]
        assert leaf.variable is w and first.next_functions[1] == (None, 0)
        names.append([n.name() for n in (first, second)] + [leaf.name()])
    assert names[1][:2] == names[0][:2] == ["AddBackward0", "MulBackward0"]
    ours = (shenjing.ones(2, requires_grad=True) * 2).sum()
    assert repr(ours.grad_fn).startswith("<SumBackward0 object at 0x")  # as PyTorch's repr
    assert names[0][2] == "AccumulateGrad" and names[1][2].endswith("AccumulateGrad")


def test_detect_anomaly_is_accepted() -> None:
    with shenjing.autograd.detect_anomaly():
        pass
    with shenjing.autograd.set_detect_anomaly(True):
        pass


def test_setup_context_style_as_torch() -> None:
    grads = []
    for lib in LIBS:

        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x ** 3 * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, k = inputs
                ctx.save_for_backward(x)
                ctx.k = k

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2 * ctx.k, None

        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        Cube.apply(x, 2.0).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
