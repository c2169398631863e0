"""ParameterList, ParameterDict, DataParallel, Softmax2d, the in-place F activations and gumbel_softmax, as PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn


def _holder(library: object) -> object:
    n = library.nn

    class Holder(n.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = n.ParameterList([n.Parameter(library.ones(2, 3)), library.zeros(3)])
            self.extra = n.ParameterDict({"scale": n.Parameter(library.ones(1)), "shift": library.zeros(1)})

        def forward(self, x: object) -> object:
            return (x @ self.weights[0] + self.weights[1]) * self.extra["scale"] + self.extra["shift"]

    return Holder()


def test_parameter_containers_register_like_torch_and_train() -> None:
    ours, theirs = _holder(shenjing), _holder(torch)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weights.0", "weights.1", "extra.scale",
                                                                    "extra.shift"]
    assert all(isinstance(p, nn.Parameter) for p in ours.weights)  # plain tensors became parameters
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    ours(shenjing.tensor(x)).square().sum().backward()
    theirs(torch.tensor(x)).square().sum().backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, err_msg=name)
    ours.weights.append(shenjing.ones(1))
    ours.extra["new"] = shenjing.ones(2)
    assert len(ours.weights) == 3 and "new" in ours.extra and len(list(ours.parameters())) == 6
    assert "(0): Parameter containing: [shenjing.float32 of size 2x3]" in repr(ours)


def test_data_parallel_on_the_cpu_runs_the_module_and_prefixes_its_keys() -> None:
    ours, theirs = nn.DataParallel(nn.Linear(3, 2)), torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(ours(shenjing.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)  # (a sum of three float32 terms: BLAS kernels round apart)
    assert isinstance(ours.module, nn.Linear)


@pytest.mark.parametrize("name, args", [("relu_", ()), ("leaky_relu_", (0.2,)), ("elu_", ()), ("celu_", ()),
                                        ("selu_", ()), ("hardtanh_", (-0.5, 0.5)), ("threshold_", (0.1, -2.0))])
def test_in_place_activations_match_torch_and_return_their_input(name: str, args: tuple) -> None:
    x = np.random.default_rng(1).standard_normal((3, 4))
    check_torch(lambda t: getattr(F, name)(t * 1.0, *args), lambda t: getattr(torch.nn.functional, name)(t * 1.0, *args),
                [x])
    s = shenjing.tensor(x.copy())
    assert getattr(F, name)(s, *args) is s
    np.testing.assert_allclose(s.numpy(), getattr(torch.nn.functional, name[:-1])(torch.tensor(x), *args).numpy(),
                               rtol=1e-12)


def test_softmax2d_matches_torch_and_checks_its_input() -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    check_torch(lambda t: nn.Softmax2d()(t), lambda t: torch.nn.Softmax2d()(t), [x])
    check_torch(lambda t: nn.Softmax2d()(t), lambda t: torch.nn.Softmax2d()(t), [x[0]])
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(shenjing.zeros(2, 3))


def test_gumbel_softmax_samples_and_hard_straight_through() -> None:
    shenjing.manual_seed(0)
    logits = shenjing.tensor(np.log(np.array([[0.1, 0.2, 0.7]])).repeat(20000, 0), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1.0, rtol=1e-6)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    values = hard.detach().numpy()
    assert set(np.unique(values)) == {0.0, 1.0} and (values.sum(-1) == 1).all()
    np.testing.assert_allclose(values.mean(0), [0.1, 0.2, 0.7], atol=0.015)  # argmax of logits + Gumbel noise
    (hard * shenjing.tensor([1.0, 2.0, 3.0])).sum().backward()  # the soft sample's gradient flows through
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0


def test_buffer_assigned_as_an_attribute_registers_like_torch() -> None:
    def build(library: object) -> object:
        n = library.nn

        class Stats(n.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mean = n.Buffer(library.zeros(3))
                self.scratch = n.Buffer(library.ones(2), persistent=False)
                self.weight = n.Parameter(library.ones(3))

        return Stats()

    ours, theirs = build(shenjing), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "mean"]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()] == ["mean", "scratch"]
    assert [k for k, _ in ours.named_parameters()] == ["weight"]
    ours.mean.add_(1.0)  # a buffer is state: updated in place, and it is what the state dict holds
    assert ours.state_dict()["mean"].sum().item() == 3.0
