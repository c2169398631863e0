"""shenjing (神经): a deep-learning framework in Python on NumPy that reads end to end, PyTorch-shaped.

    import shenjing
    from shenjing import nn, optim
"""

from __future__ import annotations

from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device as device
from .backend import get_default_device, set_default_device
from .backend import get_default_dtype, get_rng_state, set_default_dtype, set_rng_state
from .dtypes import can_cast, dtype, finfo, iinfo, promote_types, result_type
from .dtypes import to_shenjing as _dt
from .random import Generator, default_generator, initial_seed, manual_seed, seed
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    normal,
    bernoulli,
    randint_like,
    zeros,
    zeros_like,
)
from .functions import (
    abs,
    allclose,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    concat,
    concatenate,
    cos,
    equal,
    exp,
    flatten,
    isfinite,
    isinf,
    isnan,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    numel,
    permute,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .functions import (  # issue 9: indexing, sorting, cumulative ops, einsum
    addmm,
    argsort,
    argwhere,
    baddbmm,
    bincount,
    bmm,
    dot,
    mm,
    mv,
    bucketize,
    cumprod,
    cumsum,
    diag,
    diag_embed,
    diagonal,
    einsum,
    gather,
    ger,
    index_add,
    index_fill,
    index_select,
    kthvalue,
    masked_fill,
    masked_select,
    median,
    msort,
    multinomial,
    nonzero,
    outer,
    repeat_interleave,
    roll,
    scatter,
    scatter_add,
    scatter_reduce,
    searchsorted,
    sort,
    take,
    take_along_dim,
    topk,
    trace,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unique,
)
from .functions import atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors  # noqa: E402
from .functions import column_stack, dstack, hstack, logspace, meshgrid, row_stack, std_mean, var_mean  # noqa: E402
from .functions import vstack  # noqa: E402
from . import functions as _functions  # noqa: E402

# torch.chunk, torch.narrow, torch.floor, torch.gt, torch.logical_and ...: see functions._MORE_NAMES
globals().update({_name: getattr(_functions, _name) for _name in _functions._MORE_NAMES})
from .tensor import Size, Tensor, is_tensor, tensor
from .legacy import BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor
from .legacy import LongTensor, ShortTensor
from . import return_types  # noqa: E402
from . import nn, optim  # noqa: E402 - after the core they build on
from ._nn_aliases import *  # noqa: E402,F403 - torch.conv2d, torch.dropout(input, p, train), ... (see the module)
from ._tensor_str import set_printoptions  # noqa: E402
from .functions import pow  # noqa: E402,A004
from .runtime import *  # noqa: E402,F403 - set_num_threads, use_deterministic_algorithms, ...
from . import linalg  # noqa: E402 - torch.linalg

# A.det(), A.inverse(), torch.svd(A) ...: linalg's functions in their tensor-method and old top-level forms
for _name, _function in linalg.TENSOR_METHODS.items():
    setattr(Tensor, _name, _function)
    globals()[_name] = _function
from . import data, datasets  # noqa: E402 - data sets and loaders, after nn
from . import io, train  # noqa: E402 - model files and the training loop, after data
from .io import load, save  # noqa: E402
from . import utils  # noqa: E402 - torch.utils.data's spelling of shenjing.data
from . import accelerator, backends, cuda  # noqa: E402 - device questions; none of them imports CuPy
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: E402 - issue 9, autograd

__version__ = "0.1.0"

# dtypes named as in PyTorch (shenjing.dtypes.dtype: prints as shenjing.float32, equal to NumPy's dtype)
float16 = half = _dt("float16")
float32 = float = _dt("float32")  # noqa: A001 - PyTorch's name
float64 = double = _dt("float64")
int8 = _dt("int8")
int16 = short = _dt("int16")
int32 = int = _dt("int32")  # noqa: A001
int64 = long = _dt("int64")
uint8 = _dt("uint8")
bool = _dt("bool")  # noqa: A001
complex64 = cfloat = _dt("complex64")
complex128 = cdouble = _dt("complex128")
from . import distributed  # noqa: E402,F401  (shenjing.distributed, as torch.distributed)
from . import onnx, prune, quantize  # noqa: E402 - deployment (issue 15); the onnx package itself loads lazily
