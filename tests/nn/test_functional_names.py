"""Every ``torch.nn.functional`` name: either ours gives torch's values and gradients, or it is listed as not
covered, with the reason. A new name in torch (or one we add) fails the exhaustiveness test until it is sorted."""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn

tF = torch.nn.functional
rng = np.random.default_rng(23)
X = rng.standard_normal((6, 8)) * 2
X_AWAY = np.sign(X) * (np.abs(X) + 0.1)
IMG = rng.standard_normal((2, 4, 7, 6))
SEQ = rng.standard_normal((2, 4, 11))
SEQ_LAST = np.ascontiguousarray(SEQ.transpose(0, 2, 1))  # (N, L, C): features last
Y = rng.standard_normal((6, 8))
P = rng.uniform(0.05, 0.95, (6, 8))
BIN = (rng.random((6, 8)) < 0.5).astype(float)
SIGN = np.where(rng.random(6) < 0.5, 1.0, -1.0)
SIGN_X = np.where(rng.random((6, 8)) < 0.5, 1.0, -1.0)
LABELS = rng.integers(0, 8, 6)
LOG_P = np.log(rng.dirichlet(np.ones(8), 6))
PROBS = rng.dirichlet(np.ones(8), 6)
COUNTS = rng.poisson(2.0, (6, 8)).astype(float)
VAR = rng.uniform(0.2, 2.0, (6, 8))
W_LIN, B_LIN = rng.standard_normal((5, 8)), rng.standard_normal(5)
W_C1, W_C2, B_C = rng.standard_normal((3, 4, 3)), rng.standard_normal((3, 4, 3, 2)), rng.standard_normal(3)
GAMMA, BETA = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)


def case(inputs, grads=None, **kwargs):
    """``F.name(*inputs, **kwargs)`` against ``tF.name(*inputs, **kwargs)``; ``grads`` marks the inputs to
    differentiate (default: the first only)."""
    grads = [True] + [False] * (len(inputs) - 1) if grads is None else list(grads)
    return inputs, grads, kwargs


# name → the cases that check it
COVERED = {
    # activations
    "relu": [case([X_AWAY])], "relu6": [case([X_AWAY * 2])], "leaky_relu": [case([X_AWAY], negative_slope=0.2)],
    "elu": [case([X_AWAY], alpha=0.7)], "selu": [case([X_AWAY])], "celu": [case([X_AWAY], alpha=1.5)],
    "gelu": [case([X]), case([X], approximate="tanh")], "silu": [case([X])], "mish": [case([X])],
    "softplus": [case([X], beta=2.0, threshold=5.0)], "softsign": [case([X])], "hardtanh": [case([X_AWAY * 0.7])],
    "logsigmoid": [case([X])], "hardsigmoid": [case([X_AWAY * 2])], "hardswish": [case([X_AWAY * 2])],
    "tanhshrink": [case([X])], "softshrink": [case([X_AWAY], lambd=0.05)], "hardshrink": [case([X_AWAY], lambd=0.05)],
    "threshold": [case([X_AWAY], threshold=0.05, value=-1.0)], "glu": [case([X], dim=1)],
    "prelu": [case([IMG, GAMMA * 0.2], grads=[True, True])], "softmin": [case([X], dim=1)],
    "softmax": [case([X], dim=1)], "log_softmax": [case([X], dim=0)], "sigmoid": [case([X])], "tanh": [case([X])],
    # layers
    "linear": [case([X, W_LIN, B_LIN], grads=[True, True, True])],
    "conv1d": [case([SEQ, W_C1, B_C], grads=[True, True, True], stride=2, padding=1)],
    "conv2d": [case([IMG, W_C2, B_C], grads=[True, True, True], padding=(1, 0))],
    "max_pool1d": [case([SEQ], kernel_size=3, stride=2)], "max_pool2d": [case([IMG], kernel_size=2)],
    "avg_pool1d": [case([SEQ], kernel_size=3, stride=2, padding=1),
                   case([SEQ], kernel_size=4, ceil_mode=True, count_include_pad=False)],
    "avg_pool2d": [case([IMG], kernel_size=(2, 3), stride=1)],
    "adaptive_avg_pool1d": [case([SEQ], output_size=4)], "adaptive_avg_pool2d": [case([IMG], output_size=(3, 2))],
    "dropout": [case([X], training=False), case([X], p=0.0)], "dropout1d": [case([SEQ], training=False)],
    "dropout2d": [case([IMG], training=False)],
    "pad": [case([IMG], pad=(1, 2, 0, 1)), case([IMG], pad=(1, -1, 2, 0, 1, 1), value=3.0),
            case([IMG], pad=(2, 1, 1, 3), mode="reflect"), case([SEQ], pad=(3, 1), mode="replicate"),
            case([IMG], pad=(1, 2, 2, 1), mode="circular")],
    "layer_norm": [case([SEQ_LAST, (4,), GAMMA, BETA], grads=[True, False, True, True])],
    "batch_norm": [case([IMG, None, None, GAMMA, BETA], grads=[True, False, False, True, True], training=True)],
    "group_norm": [case([IMG, 2, GAMMA, BETA], grads=[True, False, True, True]), case([SEQ, 4])],
    "rms_norm": [case([IMG, (7, 6)]), case([SEQ_LAST, (4,), GAMMA], grads=[True, False, True])],
    "instance_norm": [case([IMG]), case([SEQ, None, None, GAMMA, BETA], grads=[True, False, False, True, True]),
                      case([IMG, GAMMA * 0.1, GAMMA, None, BETA], grads=[True, False, False, False, True],
                           use_input_stats=False)],
    "interpolate": [case([IMG], scale_factor=2), case([IMG], size=(9, 4), mode="nearest-exact"),
                    case([IMG], scale_factor=1.5, mode="bilinear"), case([SEQ], size=5, mode="linear",
                                                                          align_corners=True),
                    case([IMG], size=(9, 4), mode="bicubic"), case([IMG], scale_factor=1.7, mode="bicubic",
                                                                    align_corners=True),
                    case([IMG], size=(3, 2), mode="bilinear", antialias=True),
                    case([IMG], scale_factor=(0.4, 1.6), mode="bicubic", antialias=True),
                    case([IMG], size=(2, 9), mode="bilinear", antialias=True, align_corners=True)],
    "upsample": [case([IMG], scale_factor=(2, 1.5), mode="bilinear")],
    "upsample_nearest": [case([IMG], size=(3, 8))], "upsample_bilinear": [case([IMG], scale_factor=2)],
    "local_response_norm": [case([IMG], size=3), case([SEQ], size=2, alpha=0.1, beta=0.5, k=2.0)],
    "lp_pool1d": [case([np.abs(SEQ) + 0.1, 2.0, 3], stride=2)],
    "lp_pool2d": [case([np.abs(IMG) + 0.1, 3.0, (2, 3)], stride=1, ceil_mode=True)],
    "pixel_shuffle": [case([IMG, 2])], "pixel_unshuffle": [case([rng.standard_normal((2, 3, 6, 4)), 2])],
    "channel_shuffle": [case([IMG, 2])],
    "native_channel_shuffle": [case([SEQ, 4], grads=[False, False])],  # torch has no backward for it
    "rrelu": [case([X_AWAY]), case([X_AWAY], lower=0.05, upper=0.5)],
    "alpha_dropout": [case([X]), case([X], p=0.0, training=True)],
    "feature_alpha_dropout": [case([IMG], p=0.3), case([IMG], p=0.0, training=True)],
    "bilinear": [case([X, Y[:, :5], rng.standard_normal((3, 8, 5)), rng.standard_normal(3)],
                      grads=[True, True, True, True])],
    "adaptive_max_pool1d": [case([SEQ], output_size=4)],
    "adaptive_max_pool2d": [case([IMG], output_size=(3, 4)), case([np.maximum(IMG, 0)], output_size=(5, None)),
                            case([IMG[0]], output_size=1)],
    "unfold": [case([IMG], kernel_size=3), case([IMG[0]], kernel_size=(2, 3), dilation=(2, 1), padding=1,
                                                stride=(2, 3))],
    "fold": [case([rng.standard_normal((2, 24, 24)), (7, 6)], kernel_size=(2, 3), padding=1, stride=(2, 1)),
             case([rng.standard_normal((12, 36)), (5, 5)], kernel_size=2, dilation=1, padding=1)],
    "normalize": [case([X], p=1.0, dim=0)], "cosine_similarity": [case([X, Y], grads=[True, True])],
    "pairwise_distance": [case([X, Y], grads=[True, True], p=3.0)],
    # losses
    "mse_loss": [case([X, Y], grads=[True, True])], "l1_loss": [case([X_AWAY, Y], reduction="sum")],
    "smooth_l1_loss": [case([X, Y], beta=0.5)], "huber_loss": [case([X, Y], delta=0.5)],
    "cross_entropy": [case([X, LABELS], label_smoothing=0.1), case([X, PROBS])],
    "nll_loss": [case([LOG_P, LABELS], reduction="sum")],
    "binary_cross_entropy": [case([P, BIN])], "binary_cross_entropy_with_logits": [case([X, BIN])],
    "kl_div": [case([LOG_P, PROBS], reduction="batchmean")],
    "cosine_embedding_loss": [case([X, Y, SIGN], grads=[True, True, False])],
    "margin_ranking_loss": [case([X[:, 0], Y[:, 0], SIGN], grads=[True, True, False], margin=0.5)],
    "hinge_embedding_loss": [case([X, SIGN_X])], "soft_margin_loss": [case([X, SIGN_X])],
    "multilabel_soft_margin_loss": [case([X, BIN])],
    "triplet_margin_loss": [case([X, Y, X[::-1].copy()], grads=[True, True, True])],
    "poisson_nll_loss": [case([X * 0.3, COUNTS])], "multi_margin_loss": [case([X, LABELS], margin=2.0)],
    "triplet_margin_with_distance_loss": [case([X, Y, X[::-1].copy()], grads=[True, True, True], swap=True)],
    "gaussian_nll_loss": [case([X, Y, VAR], grads=[True, True, True])],
    # sequences, attention, transposed convolution (nn/embedding.py, attention.py, conv_transpose.py; ops for one_hot)
    "embedding": [case([rng.integers(0, 6, (3, 4)), X], grads=[False, True]),
                  case([rng.integers(0, 6, (5,)), X], grads=[False, True], padding_idx=2)],
    "embedding_bag": [case([rng.integers(0, 6, (3, 4)), X], grads=[False, True], mode="sum"),
                      case([rng.integers(0, 6, (3, 4)), X], grads=[False, True], mode="max")],
    "one_hot": [case([LABELS], grads=[False], num_classes=10)],
    "conv_transpose2d": [case([IMG, rng.standard_normal((4, 3, 3, 3))], grads=[True, True], stride=2, padding=1)],
    "conv_transpose1d": [case([SEQ, rng.standard_normal((4, 2, 3))], grads=[True, True], stride=2)],
    "scaled_dot_product_attention": [case([IMG, IMG[:, :, ::-1].copy(), IMG * 0.5], grads=[True, True, True]),
                                     case([IMG, IMG, IMG], grads=[True, True, True], is_causal=True)],
}

NOT_COVERED = {
    "adaptive_avg_pool3d": "no 3-D layers", "adaptive_max_pool3d": "no 3-D layers", "avg_pool3d": "no 3-D layers",
    "conv3d": "no 3-D layers", "max_pool3d": "no 3-D layers", "dropout3d": "no 3-D layers",
    "lp_pool3d": "no 3-D layers", "max_unpool3d": "no 3-D layers", "conv_transpose3d": "no 3-D layers",
    "fractional_max_pool3d": "no 3-D layers",
    "max_pool1d_with_indices": "pooling returns no indices", "max_pool2d_with_indices": "pooling returns no indices",
    "max_pool3d_with_indices": "no 3-D layers", "adaptive_max_pool1d_with_indices": "pooling returns no indices",
    "adaptive_max_pool2d_with_indices": "pooling returns no indices",
    "adaptive_max_pool3d_with_indices": "no 3-D layers", "fractional_max_pool2d_with_indices": "random pooling",
    "fractional_max_pool3d_with_indices": "no 3-D layers",
    "max_unpool1d": "needs pooling indices", "max_unpool2d": "needs pooling indices",
    "conv_tbc": "no transposed convolution layer", 
    "fractional_max_pool2d": "random pooling, no layer",
   

    "grid_sample": "no spatial transformer family", "affine_grid": "no spatial transformer family",
    "pdist": "no pdist op", "gumbel_softmax": "no sampling ops family",
    "ctc_loss": "needs the recurrent family",
    "multilabel_margin_loss": "not yet (no margin-classification layer)",
    "multi_head_attention_forward": "no attention family yet",
    "linear_cross_entropy": "fused large-vocabulary loss: no language-model family yet",
    "grouped_mm": "grouped GEMMs of the GPU kernels: out of scope", "scaled_grouped_mm": "out of scope (FP8 GEMM)",
    "scaled_mm": "out of scope (FP8 GEMM)",
    # in-place forms: the in-place write machinery of the tensor layer, not this branch
    "celu_": "in-place form", "elu_": "in-place form", "hardtanh_": "in-place form", "leaky_relu_": "in-place form",
    "relu_": "in-place form", "rrelu_": "in-place form", "selu_": "in-place form", "threshold_": "in-place form",
}

# what torch.nn.functional holds besides functions of tensors: imports, type aliases, helpers, doc strings
NOT_API = {"assert_int_or_pair", "boolean_dispatch", "handle_torch_function", "has_torch_function",
           "has_torch_function_unary", "has_torch_function_variadic", "grad", "Tensor", "Callable", "Optional",
           "BroadcastingList1", "BroadcastingList2", "BroadcastingList3", "DType", "TYPE_CHECKING",
           "GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES", "ScalingType", "SwizzleType"}


def torch_names() -> set:
    names = set()
    for name in dir(tF):
        value = getattr(tF, name)
        if name.startswith("_") or name in NOT_API or isinstance(value, types.ModuleType | str | dict | type):
            continue
        names.add(name)
    return names


def test_every_torch_functional_name_is_covered_or_listed_with_a_reason() -> None:
    names = torch_names()
    unsorted = names - set(COVERED) - set(NOT_COVERED)
    assert not unsorted, f"torch.nn.functional names neither covered nor listed: {sorted(unsorted)}"
    assert not set(COVERED) & set(NOT_COVERED)
    stale = (set(COVERED) | set(NOT_COVERED)) - names
    assert not stale, f"listed names torch 2.13 does not have: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(COVERED))
def test_covered_name_exists_with_torch_parameter_names(name: str) -> None:
    ours, theirs = getattr(F, name), getattr(tF, name)
    assert name in F.__all__
    ours_params = list(inspect.signature(ours).parameters)
    try:
        theirs_params = list(inspect.signature(theirs).parameters)
    except ValueError:  # a builtin without a signature
        return
    if theirs_params == ["args", "kwargs"]:  # torch's boolean_dispatch wrappers (max_pool*d)
        theirs_params = list(inspect.signature(getattr(tF, name + "_with_indices")).parameters)
    # NOTE: the same leading parameter names, in order (ours may stop before torch's rarely used tail)
    shared = [p for p in theirs_params if p in ours_params]
    assert shared == [p for p in ours_params if p in theirs_params], f"{name}: {ours_params} vs {theirs_params}"
    assert theirs_params[:2] == ours_params[:2]


@pytest.mark.parametrize("name, index", [(n, i) for n, cases in sorted(COVERED.items()) for i in range(len(cases))])
def test_covered_name_gives_torch_values_and_gradients(name: str, index: int) -> None:
    inputs, grads, kwargs = COVERED[name][index]
    arrays = [x for x in inputs if isinstance(x, np.ndarray)]
    positions = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)]

    def call(function):
        def run(*tensors):
            args = list(inputs)
            for i, t in zip(positions, tensors):
                args[i] = t
            return function(*args, **kwargs)

        return run

    # NOTE: torch's hardsigmoid backward multiplies by the float32 constant 1/6 even in float64 (see
    # test_activation_extra.py); ours is exact
    tol = {"float64": dict(grad_rtol=1e-7)} if name == "hardsigmoid" else None
    check_torch(call(getattr(F, name)), call(getattr(tF, name)), arrays, requires_grad=[grads[i] for i in positions],
                tol=tol)


NEW_HERE = ["pad", "avg_pool1d", "adaptive_avg_pool1d", "group_norm", "rms_norm", "instance_norm", "interpolate",
            "local_response_norm", "adaptive_max_pool1d", "adaptive_max_pool2d", "unfold", "fold", "lp_pool1d",
            "lp_pool2d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]


# ties (the zeros after a ReLU) are kinks of max pooling: finite differences do not apply there; torch's values
# and gradients at the ties are checked above
AT_KINKS = {("adaptive_max_pool2d", 1)}


@pytest.mark.parametrize("name, index", [(n, i) for n in NEW_HERE for i in range(len(COVERED[n]))
                                         if (n, i) not in AT_KINKS])
def test_new_forms_pass_finite_differences(name: str, index: int) -> None:
    inputs, grads, kwargs = COVERED[name][index]
    positions = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)]

    def run(*tensors):
        args = list(inputs)
        for i, t in zip(positions, tensors):
            args[i] = t
        return getattr(F, name)(*args, **kwargs)

    small = [x[:1] if i == 0 and x.ndim >= 3 else x for i, x in enumerate(inputs[p] for p in positions)]
    check_gradients(run, small, requires_grad=[grads[i] for i in positions])


# ---- the layers of the new forms -------------------------------------------------------------------------------
LAYERS = [
    (nn.ZeroPad2d((1, 2, 0, 1)), torch.nn.ZeroPad2d((1, 2, 0, 1)), IMG),
    (nn.ZeroPad1d(2), torch.nn.ZeroPad1d(2), SEQ),
    (nn.ConstantPad2d(1, 3.5), torch.nn.ConstantPad2d(1, 3.5), IMG),
    (nn.ConstantPad1d((2, 0), -1.0), torch.nn.ConstantPad1d((2, 0), -1.0), SEQ),
    (nn.ReflectionPad2d(2), torch.nn.ReflectionPad2d(2), IMG),
    (nn.ReflectionPad1d((3, 1)), torch.nn.ReflectionPad1d((3, 1)), SEQ),
    (nn.ReplicationPad2d((1, 0, 2, 3)), torch.nn.ReplicationPad2d((1, 0, 2, 3)), IMG),
    (nn.ReplicationPad1d(4), torch.nn.ReplicationPad1d(4), SEQ),
    (nn.CircularPad2d(1), torch.nn.CircularPad2d(1), IMG),
    (nn.CircularPad1d((2, 3)), torch.nn.CircularPad1d((2, 3)), SEQ),
    (nn.AvgPool1d(3, stride=2, padding=1), torch.nn.AvgPool1d(3, stride=2, padding=1), SEQ),
    (nn.AdaptiveAvgPool1d(5), torch.nn.AdaptiveAvgPool1d(5), SEQ),
    (nn.Dropout1d(0.3).eval(), torch.nn.Dropout1d(0.3).eval(), SEQ),
    (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2), IMG),
    (nn.PixelShuffle(2), torch.nn.PixelShuffle(2), IMG),
    (nn.AdaptiveMaxPool2d((2, 3)), torch.nn.AdaptiveMaxPool2d((2, 3)), np.maximum(IMG, 0)),  # ties at 0
    (nn.AdaptiveMaxPool1d(3), torch.nn.AdaptiveMaxPool1d(3), SEQ),
    (nn.Unfold((2, 3), stride=2), torch.nn.Unfold((2, 3), stride=2), IMG),
    (nn.Fold((3, 4), 2), torch.nn.Fold((3, 4), 2), rng.standard_normal((2, 8, 6))),
    (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), IMG[:, :, :6]),
    (nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2), IMG),
    (nn.LPPool2d(2, 2), torch.nn.LPPool2d(2, 2), np.abs(IMG) + 0.1),
    (nn.LPPool1d(3, 4, stride=2), torch.nn.LPPool1d(3, 4, stride=2), np.abs(SEQ) + 0.1),
    (nn.LocalResponseNorm(3, alpha=0.01), torch.nn.LocalResponseNorm(3, alpha=0.01), IMG),
    (nn.Upsample(size=(5, 9), mode="bilinear", align_corners=False),
     torch.nn.Upsample(size=(5, 9), mode="bilinear", align_corners=False), IMG),
    (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3), IMG),
    (nn.UpsamplingBilinear2d(size=(4, 4)), torch.nn.UpsamplingBilinear2d(size=(4, 4)), IMG),
]


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_layers_match_torch(index: int) -> None:
    ours, theirs, x = LAYERS[index]
    check_torch(ours, theirs, [x])
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_layer_matches_torch_by_state_dict(affine: bool) -> None:
    theirs = torch.nn.GroupNorm(2, 4, affine=affine).double()
    ours = nn.GroupNorm(2, 4, affine=affine, dtype=shenjing.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(GAMMA))
            theirs.bias.copy_(torch.tensor(BETA))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = shenjing.tensor(IMG, requires_grad=True)
    tx = torch.tensor(IMG, requires_grad=True)
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    if affine:
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_rms_norm_layer_matches_torch() -> None:
    theirs, ours = torch.nn.RMSNorm((7, 6), eps=1e-6).double(), nn.RMSNorm((7, 6), eps=1e-6, dtype=shenjing.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    check_torch(ours, theirs, [IMG], dtypes=("float64",))


def test_pad_errors_like_torch() -> None:
    x = shenjing.randn(1, 2, 3, 4)
    with pytest.raises(RuntimeError, match="less than the input size 4"):
        F.pad(x, (4, 0, 0, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="expects a 2-D or 3-D input"):
        F.pad(x, (1, 1), mode="replicate")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(NotImplementedError, match="unrecognised padding mode"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match="C divisible by num_groups=3"):
        F.group_norm(x, 3)


@pytest.mark.parametrize("layer", [nn.ZeroPad2d((1, 2, 0, 1)), nn.ConstantPad1d(2, -1.5), nn.ReflectionPad2d(1),
                                   nn.ReplicationPad1d((0, 3)), nn.CircularPad2d(2), nn.RMSNorm((3, 4), eps=1e-5),
                                   nn.Threshold(0.5, -1.0), nn.AvgPool1d(3, 2, 1), nn.GroupNorm(2, 6, affine=False),
                                   nn.Upsample(scale_factor=2, mode="bilinear"), nn.InstanceNorm2d(3, affine=True),
                                   nn.PixelShuffle(3), nn.ChannelShuffle(2), nn.LPPool2d(2.0, 3, 1),
                                   nn.LocalResponseNorm(5), nn.AdaptiveMaxPool2d((2, None)),
                                   nn.AdaptiveMaxPool1d(4), nn.Unfold((2, 3), padding=1),
                                   nn.Fold((4, 5), 2, stride=(1, 2))],
                         ids=lambda layer: type(layer).__name__)
def test_new_layers_rebuild_from_their_config(layer) -> None:
    import json

    from shenjing import io

    rebuilt = io.build(json.loads(json.dumps(io.describe(layer))))
    assert type(rebuilt) is type(layer) and repr(rebuilt) == repr(layer)


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("track", [False, True])
@pytest.mark.parametrize("dims", [1, 2])
def test_instance_norm_layers_match_torch_in_train_and_eval(dims: int, track: bool, affine: bool) -> None:
    name = f"InstanceNorm{dims}d"
    theirs = getattr(torch.nn, name)(4, momentum=0.3, affine=affine, track_running_stats=track).double()
    ours = getattr(nn, name)(4, momentum=0.3, affine=affine, track_running_stats=track, dtype=shenjing.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = IMG if dims == 2 else SEQ
    for mode in ("train", "eval", "train"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        for sample in (x, x[0]):  # batched and unbatched
            np.testing.assert_allclose(ours(shenjing.tensor(sample)).detach().numpy(),
                                       theirs(torch.tensor(sample)).detach().numpy(), atol=1e-12)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_in_training_follows_its_formula(feature: bool) -> None:
    p, alpha = 0.3, 1.7580993408473766
    a = 1 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = shenjing.tensor(rng.standard_normal((400, 6, 5)), requires_grad=True)
    out = (F.feature_alpha_dropout if feature else F.alpha_dropout)(x, p, training=True)
    out.sum().backward()
    kept = x.grad.numpy() != 0  # ∂out/∂x = a·m
    np.testing.assert_allclose(x.grad.numpy()[kept], a)
    if feature:  # one draw per channel of each sample
        assert (kept == kept[:, :, :1]).all()
    values, inputs = out.detach().numpy(), x.detach().numpy()
    np.testing.assert_allclose(values[kept], a * inputs[kept] + alpha * a * p, rtol=1e-12)
    np.testing.assert_allclose(values[~kept], alpha * a * (p - 1), rtol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.03
    assert abs(values.mean()) < 0.05 and abs(values.std() - 1) < 0.05  # self-normalising on N(0, 1) inputs
    assert nn.AlphaDropout(0.3).eval()(x) is x


def test_rrelu_in_training_draws_slopes_between_lower_and_upper() -> None:
    x = shenjing.tensor(-np.abs(rng.standard_normal(2000)) - 0.01, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.4, training=True)
    out.sum().backward()
    slopes = out.detach().numpy() / x.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4 and abs(slopes.mean() - 0.25) < 0.01
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-12)
    positive = shenjing.tensor(np.abs(rng.standard_normal(10)))
    np.testing.assert_array_equal(nn.RReLU().train()(positive).numpy(), positive.numpy())


def test_bilinear_layer_matches_torch_by_state_dict() -> None:
    theirs = torch.nn.Bilinear(8, 5, 3).double()
    ours = nn.Bilinear(8, 5, 3, dtype=shenjing.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert ours.weight.shape == tuple(theirs.weight.shape)
    bound = 1 / np.sqrt(8)
    assert np.abs(ours.weight.array).max() <= bound and np.abs(ours.bias.array).max() <= bound
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x1, x2 = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 4, 5))
    check_torch(ours, theirs, [x1, x2], dtypes=("float64",))
    assert repr(ours) == repr(theirs)
