"""oneDNN on the CPU: the kernels PyTorch's CPU convolutions, pooling and matrix products call, through ``ctypes``.

oneDNN (Intel's deep-learning kernel library, ``pip install onednn-cpu-gomp``) computes the three products of a
convolution — forward z = W ⋆ a_prev + b, ∂L/∂a_prev (backward data) and ∂L/∂W, ∂L/∂b (backward weights) — with
JIT-compiled direct kernels that block the image and the channels for the CPU's vector registers and caches. They
are the same formulas as ``conv.py``'s im2col path (its docstring states them); only the loop order differs. On the
2-core AVX-512 machine of ``benchmarks/bench_cnn_step.py``, the textbook CNN's second convolution (batch 64,
32 → 64 channels, 26 × 26) takes 4.7 / 4.5 / 5.0 ms forward / ∂x / ∂W here, against 9–22 ms for each by im2col
and OpenBLAS.

Once its threads are awake, the step's other heavy work goes to it too, on both cores where NumPy uses one
(the formulas stay in their layers; these are only faster loops for them):

- max pooling, forward and backward (``pooling.py``): the first maximum of each window, its index kept in a
  one-byte workspace; 0.54 ms against 3.9 ms for the textbook CNN's pooling. PyTorch's NaN rule (NaN wins) and
  its −∞ for a window of −∞ differ from oneDNN's kernel, so an input holding a NaN (one check, 0.3 ms) or a
  result holding the lowest float goes to NumPy's passes instead. Dilated windows have only oneDNN's reference
  kernel: NumPy's.
- ReLU's backward, ∂L/∂z = ∂L/∂a ⊙ 1[a > 0] read off the saved output (``activation.py``): 0.53 ms against 1.0 ms
  for the 2.4 M activations of the second convolution; arrays under 65 536 numbers stay on NumPy.
- the Linear layer's three products (``linear.py``) by ``dnnl_sgemm``: 0.85 / 0.53 / 0.53 ms against 1.7 / 1.3 /
  1.3 ms for Linear(9216, 128) on a batch of 64 — but only once a convolution has run (before that, OpenBLAS has
  both cores and a model without convolutions never starts oneDNN).

Used when all of these hold (otherwise NumPy's path runs — ``conv.py``'s im2col products and the other layers'
element-wise passes — with the same results to float32 rounding):

- the array module is NumPy and the dtype float32 (oneDNN has no float64 convolution: the float64 parity and
  finite-difference tests run the im2col path);
- the library loads (Linux x86-64 with the ``onednn-cpu-gomp`` wheel, which needs the system's ``libgomp.so.1``),
  ``SHENJING_ONEDNN`` is not ``0`` in the environment, and ``shenjing.backends.mkldnn.enabled`` is True (PyTorch's
  switch: ``torch.backends.mkldnn`` turns the same library on and off there);
- oneDNN has an optimised kernel for the shape (a reference ``ref:`` implementation is refused).

Activations are handed over channels-last (N, H, W, C), the layout every layer here already returns, so no
transposing copy is needed between convolutions; the weights are reordered into oneDNN's blocked layout on each
call (18 432 numbers for the textbook CNN: microseconds). One set of primitives is kept per shape (a small cache).
A process forked after the library ran (a DataLoader worker) does not call it again: GNU OpenMP's thread pool does
not survive ``fork``, so the child falls back to im2col.

Threads: oneDNN's kernels run on OpenMP's threads (``shenjing.set_num_threads`` sets how many), NumPy's matrix
products on OpenBLAS's. Each pool's idle threads keep spinning for a while after their work, waiting for the next,
so two pools on the same cores take the cores from each other: on the 2-core machine the textbook CNN's step took
77 ms with both at 2 threads, 38 ms with OpenBLAS at 1 (PyTorch: 39 ms; it runs everything on one pool). So once
the first convolution runs on oneDNN, OpenBLAS is kept to one thread (through threadpoolctl) for the rest of the
process, and the large Linear products go to oneDNN's sgemm on its pool. ``SHENJING_ONEDNN=0`` in the environment,
or ``shenjing.backends.mkldnn.enabled = False`` before the first convolution, leaves OpenBLAS its threads.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections import OrderedDict
from typing import Any

from ..backend import NUMPY

__all__ = ["available", "enabled", "in_use", "conv", "max_pool", "relu_backward", "matmul", "set_verbose",
           "set_num_threads", "library_path"]

# --- the C API of oneDNN 3 (dnnl.h / dnnl_types.h): the few values used here ---------------------------------------
_F32 = 3  # dnnl_f32
_FORMAT_ANY = 1  # dnnl_format_tag_any: the primitive chooses the layout (the weights)
_CPU = 1  # dnnl_cpu
_IN_ORDER = 1  # dnnl_stream_in_order
_FORWARD_TRAINING = 64  # dnnl_forward_training
_CONVOLUTION_DIRECT = 1  # dnnl_convolution_direct
_QUERY_IMPL_INFO = 8  # dnnl_query_impl_info_str
_QUERY_WEIGHTS_MD, _QUERY_DIFF_WEIGHTS_MD = 131, 132  # dnnl_query_weights_md, dnnl_query_diff_weights_md
_QUERY_WORKSPACE_MD = 135  # dnnl_query_workspace_md
_RELU_USE_DST_FOR_BWD = 0x100  # dnnl_eltwise_relu_use_dst_for_bwd: ReLU′ read off a = max(0, z)
_POOLING_MAX = 0x1FF  # dnnl_pooling_max
_ARG_WORKSPACE = 64  # DNNL_ARG_WORKSPACE: where max pooling keeps each window's argmax for the backward
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_BIAS = 1, 17, 33, 41
_ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS, _ARG_DIFF_BIAS = 129, 145, 161, 169
_STATUS = {1: "out of memory", 2: "invalid arguments", 3: "unimplemented", 4: "no implementation left",
           5: "runtime error", 6: "not required"}

_P = ctypes.c_void_p
_Dims = ctypes.c_int64 * 12  # dnnl_dims_t


class _Arg(ctypes.Structure):  # dnnl_exec_arg_t
    _fields_ = [("arg", ctypes.c_int), ("memory", _P)]


class _Library:
    """libdnnl loaded once: its engine (the CPU), one in-order stream, and typed entry points."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        out = ctypes.POINTER(_P)
        for name, args, res in (
            ("dnnl_engine_create", [out, ctypes.c_int, ctypes.c_size_t], ctypes.c_int),
            ("dnnl_stream_create", [out, _P, ctypes.c_uint], ctypes.c_int),
            ("dnnl_stream_wait", [_P], ctypes.c_int),
            ("dnnl_memory_desc_create_with_strides", [out, ctypes.c_int, _Dims, ctypes.c_int, _Dims], ctypes.c_int),
            ("dnnl_memory_desc_create_with_tag", [out, ctypes.c_int, _Dims, ctypes.c_int, ctypes.c_int], ctypes.c_int),
            ("dnnl_memory_desc_destroy", [_P], ctypes.c_int),
            ("dnnl_memory_desc_get_size", [_P], ctypes.c_size_t),
            ("dnnl_memory_desc_equal", [_P, _P], ctypes.c_int),
            ("dnnl_memory_create", [out, _P, _P, _P], ctypes.c_int),
            ("dnnl_memory_destroy", [_P], ctypes.c_int),
            ("dnnl_convolution_forward_primitive_desc_create",
             [out, _P, ctypes.c_int, ctypes.c_int, _P, _P, _P, _P, _Dims, _Dims, _Dims, _Dims, _P], ctypes.c_int),
            ("dnnl_convolution_backward_data_primitive_desc_create",
             [out, _P, ctypes.c_int, _P, _P, _P, _Dims, _Dims, _Dims, _Dims, _P, _P], ctypes.c_int),
            ("dnnl_convolution_backward_weights_primitive_desc_create",
             [out, _P, ctypes.c_int, _P, _P, _P, _P, _Dims, _Dims, _Dims, _Dims, _P, _P], ctypes.c_int),
            ("dnnl_reorder_primitive_desc_create", [out, _P, _P, _P, _P, _P], ctypes.c_int),
            ("dnnl_primitive_desc_query", [_P, ctypes.c_int, ctypes.c_int, _P], ctypes.c_int),
            ("dnnl_primitive_desc_query_md", [_P, ctypes.c_int, ctypes.c_int], _P),
            ("dnnl_primitive_desc_destroy", [_P], ctypes.c_int),
            ("dnnl_primitive_create", [out, _P], ctypes.c_int),
            ("dnnl_primitive_execute", [_P, _P, ctypes.c_int, ctypes.POINTER(_Arg)], ctypes.c_int),
            ("dnnl_primitive_destroy", [_P], ctypes.c_int),
            ("dnnl_eltwise_forward_primitive_desc_create",
             [out, _P, ctypes.c_int, ctypes.c_int, _P, _P, ctypes.c_float, ctypes.c_float, _P], ctypes.c_int),
            ("dnnl_eltwise_backward_primitive_desc_create",
             [out, _P, ctypes.c_int, _P, _P, _P, ctypes.c_float, ctypes.c_float, _P, _P], ctypes.c_int),
            ("dnnl_pooling_forward_primitive_desc_create",
             [out, _P, ctypes.c_int, ctypes.c_int, _P, _P, _Dims, _Dims, _Dims, _Dims, _Dims, _P], ctypes.c_int),
            ("dnnl_pooling_backward_primitive_desc_create",
             [out, _P, ctypes.c_int, _P, _P, _Dims, _Dims, _Dims, _Dims, _Dims, _P, _P], ctypes.c_int),
            ("dnnl_sgemm", [ctypes.c_char, ctypes.c_char, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                            ctypes.c_float, _P, ctypes.c_int64, _P, ctypes.c_int64, ctypes.c_float, _P,
                            ctypes.c_int64], ctypes.c_int),
            ("dnnl_set_verbose", [ctypes.c_int], ctypes.c_int),
        ):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
        self.lib = lib
        self.engine = self.new("dnnl_engine_create", _CPU, 0)
        self.stream = self.new("dnnl_stream_create", self.engine, _IN_ORDER)
        self.lock = threading.Lock()
        self.omp_set_num_threads = None
        try:  # the OpenMP runtime the library was linked with (GNU's): its thread count
            self.omp_set_num_threads = ctypes.CDLL("libgomp.so.1").omp_set_num_threads
        except (OSError, AttributeError):  # pragma: no cover - the wheel always links libgomp.so.1
            pass

    def check(self, status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"oneDNN {what}: {_STATUS.get(status, f'status {status}')}")

    def new(self, fn: str, *args: Any) -> _P:
        """Call a dnnl_*_create function; the created handle."""
        handle = _P()
        self.check(getattr(self.lib, fn)(ctypes.byref(handle), *args), fn.removeprefix("dnnl_"))
        return handle

    def memory_desc(self, shape: tuple, strides: tuple | None = None) -> _P:
        """A float32 memory descriptor: plain with these element strides, or 'any' (the primitive's choice)."""
        if strides is None:
            return self.new("dnnl_memory_desc_create_with_tag", len(shape), _dims(shape), _F32, _FORMAT_ANY)
        return self.new("dnnl_memory_desc_create_with_strides", len(shape), _dims(shape), _F32, _dims(strides))

    def implementation(self, pd: _P) -> str:
        name = ctypes.c_char_p()
        self.check(self.lib.dnnl_primitive_desc_query(pd, _QUERY_IMPL_INFO, 0, ctypes.byref(name)), "query")
        return (name.value or b"").decode()

    def execute(self, primitive: _P, args: list) -> None:
        """Run one primitive on (argument, memory descriptor, array) triples; returns when it is done."""
        memories = [self.new("dnnl_memory_create", md, self.engine, _P(array.ctypes.data)) for _, md, array in args]
        try:
            packed = (_Arg * len(args))(*[_Arg(arg, m) for (arg, _, _), m in zip(args, memories)])
            with self.lock:
                self.check(self.lib.dnnl_primitive_execute(primitive, self.stream, len(args), packed), "execute")
                self.check(self.lib.dnnl_stream_wait(self.stream), "stream wait")
        finally:
            for m in memories:
                self.lib.dnnl_memory_destroy(m)


def _dims(values: tuple) -> Any:
    dims = _Dims()
    for i, v in enumerate(values):
        dims[i] = int(v)
    return dims


def library_path() -> str | None:
    """Where ``libdnnl.so.3`` of the installed ``onednn-cpu-gomp`` wheel is, or None."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # pragma: no cover - Python ≥ 3.8 has it
        return None
    for name in ("onednn-cpu-gomp", "onednn-cpu-iomp"):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for f in dist.files or ():
            if f.name == "libdnnl.so.3":
                path = str(dist.locate_file(f))
                if os.path.exists(path):
                    return os.path.realpath(path)
    candidate = os.path.join(sys.prefix, "lib", "libdnnl.so.3")
    return candidate if os.path.exists(candidate) else None


_state: dict = {"library": None, "tried": False, "forked": False, "error": None, "in_use": False}


def _library() -> _Library | None:
    if not _state["tried"]:
        _state["tried"] = True
        path = None if os.environ.get("SHENJING_ONEDNN", "1") == "0" else library_path()
        if path is not None:
            try:
                _state["library"] = _Library(path)
            except (OSError, AttributeError, RuntimeError) as error:  # no libgomp, an incompatible build, …
                _state["error"] = f"{path}: {error}"
    return None if _state["forked"] else _state["library"]


def _after_fork_in_child() -> None:
    _state["forked"] = _state["library"] is not None  # GNU OpenMP's pool is not usable after fork
    _plans.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def available() -> bool:
    """True when oneDNN is installed, loads, and may be called in this process."""
    return _library() is not None


def enabled() -> bool:
    """True when convolutions will use oneDNN: available, and ``shenjing.backends.mkldnn.enabled``."""
    from ..backends import mkldnn

    return bool(mkldnn.enabled) and available()


def in_use() -> bool:
    """True once a convolution in this process has run on oneDNN (its OpenMP threads are then awake)."""
    return _state["in_use"] and not _state["forked"]


def set_verbose(level: int) -> bool:
    """oneDNN's verbose mode (0 off, 1 each execution, 2 also each creation): ``dnnl_set_verbose``."""
    lib = _library()
    return lib is not None and lib.lib.dnnl_set_verbose(int(level)) == 0


def set_num_threads(num: int) -> None:
    """The OpenMP threads oneDNN's kernels use (with the BLAS threads, by ``shenjing.set_num_threads``)."""
    lib = _library()
    if lib is not None and lib.omp_set_num_threads is not None:
        lib.omp_set_num_threads(int(num))


def _channels_last_strides(shape: tuple) -> tuple:
    """Element strides of (N, C, *spatial) stored as (N, *spatial, C), C-contiguous."""
    N, C, *spatial = shape
    strides, step = [0] * len(shape), C
    strides[1] = 1
    for axis in range(len(shape) - 1, 1, -1):
        strides[axis] = step
        step *= shape[axis]
    strides[0] = step
    return tuple(strides)


def _plain_strides(shape: tuple) -> tuple:
    strides, step = [0] * len(shape), 1
    for axis in range(len(shape) - 1, -1, -1):
        strides[axis] = step
        step *= shape[axis]
    return tuple(strides)


class _Plan:
    """oneDNN handles (memory descriptors, primitive descriptors, primitives) owned together, freed together."""

    def __init__(self, lib: _Library) -> None:
        self.lib = lib
        self.owned: list = []  # (destroy function, handle) pairs, freed with the plan

    def md(self, shape: tuple, strides: tuple | None = None) -> _P:
        md = self.lib.memory_desc(shape, strides)
        self.owned.append((self.lib.lib.dnnl_memory_desc_destroy, md))
        return md

    def pd(self, fn: str, *args: Any) -> _P:
        pd = self.lib.new(fn, self.lib.engine, *args)
        self.owned.append((self.lib.lib.dnnl_primitive_desc_destroy, pd))
        return pd

    def primitive(self, pd: _P) -> _P:
        primitive = self.lib.new("dnnl_primitive_create", pd)
        self.owned.append((self.lib.lib.dnnl_primitive_destroy, primitive))
        return primitive

    def __del__(self) -> None:
        for destroy, handle in reversed(getattr(self, "owned", ())):
            try:
                destroy(handle)
            except Exception:  # noqa: BLE001, S110 - interpreter shutdown: nothing left to free into
                pass

    def usable(self, pd: _P) -> _P | None:
        """The primitive for ``pd``, or None when oneDNN only has its reference kernel (NumPy is faster)."""
        return None if self.lib.implementation(pd).startswith("ref") else self.primitive(pd)


class _Conv(_Plan):
    """One convolution shape's oneDNN primitives: forward, then (when first needed) backward data and weights."""

    def __init__(self, lib: _Library, key: tuple) -> None:
        super().__init__(lib)
        self.key = key
        (N, C, *spatial), (O, Cg, *kernel), stride, pads_l, pads_r, dilation, groups, has_bias = key  # noqa: E741
        out = [(spatial[i] + pads_l[i] + pads_r[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
               for i in range(len(spatial))]
        self.in_shape, self.out_shape = (N, C, *spatial), (N, O, *out)
        self.w_shape = (O, Cg, *kernel) if groups == 1 else (groups, O // groups, Cg, *kernel)
        self.b_shape = (O,) if has_bias else None
        self.geometry = (_dims(stride), _dims([d - 1 for d in dilation]), _dims(pads_l), _dims(pads_r))
        self.src_md = self.md(self.in_shape, _channels_last_strides(self.in_shape))
        self.dst_md = self.md(self.out_shape, _channels_last_strides(self.out_shape))
        self.w_md = self.md(self.w_shape, _plain_strides(self.w_shape))
        self.b_md = self.md(self.b_shape, (1,)) if has_bias else None
        self.fwd_pd = self.pd("dnnl_convolution_forward_primitive_desc_create", _FORWARD_TRAINING, _CONVOLUTION_DIRECT,
                              self.src_md, self.md(self.w_shape), self.b_md, self.dst_md, *self.geometry, None)
        self.name = lib.implementation(self.fwd_pd)
        self.fwd = None if self.name.startswith("ref") else self.primitive(self.fwd_pd)
        self.ok = self.fwd is not None
        self.fwd_weights = self.weights_to(self.fwd_pd)
        self.bwd_data = self.bwd_weights = None

    def weights_to(self, pd: _P, query: int = _QUERY_WEIGHTS_MD, into: bool = True) -> tuple | None:
        """(reorder primitive, its md, buffer size) between the plain weights and the layout ``pd`` chose."""
        chosen = _P(self.lib.lib.dnnl_primitive_desc_query_md(pd, query, 0))
        if self.lib.lib.dnnl_memory_desc_equal(chosen, self.w_md):
            return None
        src, dst = (self.w_md, chosen) if into else (chosen, self.w_md)
        reorder = self.pd_reorder(src, dst)
        return self.primitive(reorder), chosen, self.lib.lib.dnnl_memory_desc_get_size(chosen)

    def pd_reorder(self, src: _P, dst: _P) -> _P:
        pd = self.lib.new("dnnl_reorder_primitive_desc_create", src, self.lib.engine, dst, self.lib.engine, None)
        self.owned.append((self.lib.lib.dnnl_primitive_desc_destroy, pd))
        return pd

    def blocked(self, xp: Any, W: Any, reorder: tuple | None) -> tuple:
        """The weights in the primitive's layout: (memory descriptor, array)."""
        if reorder is None:
            return self.w_md, W
        primitive, md, size = reorder
        out = xp.empty(max(1, size // 4), dtype=W.dtype)
        self.lib.execute(primitive, [(_ARG_SRC, self.w_md, W), (_ARG_DST, md, out)])
        return md, out

    # --- the three computations ------------------------------------------------------------------------------------
    def forward(self, xp: Any, x: Any, W: Any, b: Any) -> Any:
        """z (N, *out, O) channels-last from x (N, *in, C) channels-last, W (O, C/g, *k), b (O,) or None."""
        N, O, *out = self.out_shape  # noqa: E741 - output channels, as the formulas
        z = xp.empty((N, *out, O), dtype=x.dtype)
        w_md, w = self.blocked(xp, W, self.fwd_weights)
        args = [(_ARG_SRC, self.src_md, x), (_ARG_WEIGHTS, w_md, w), (_ARG_DST, self.dst_md, z)]
        if self.b_md is not None:
            args.append((_ARG_BIAS, self.b_md, b))
        self.lib.execute(self.fwd, args)
        return z

    def backward_data(self, xp: Any, delta: Any, W: Any) -> Any:
        """∂L/∂a_prev (N, *in, C) channels-last from δ (N, *out, O) channels-last."""
        if self.bwd_data is None:
            pd = self.pd("dnnl_convolution_backward_data_primitive_desc_create", _CONVOLUTION_DIRECT, self.src_md,
                         self.md(self.w_shape), self.dst_md, *self.geometry, self.fwd_pd, None)
            self.bwd_data = (self.primitive(pd), self.weights_to(pd))
        primitive, reorder = self.bwd_data
        N, C, *spatial = self.in_shape
        grad = xp.empty((N, *spatial, C), dtype=delta.dtype)
        w_md, w = self.blocked(xp, W, reorder)
        self.lib.execute(primitive, [(_ARG_DIFF_DST, self.dst_md, delta), (_ARG_WEIGHTS, w_md, w),
                                     (_ARG_DIFF_SRC, self.src_md, grad)])
        return grad

    def backward_weights(self, xp: Any, x: Any, delta: Any) -> tuple:
        """(∂L/∂W (O, C/g, *k), ∂L/∂b (O,) or None) from the forward's x and δ, both channels-last."""
        if self.bwd_weights is None:
            pd = self.pd("dnnl_convolution_backward_weights_primitive_desc_create", _CONVOLUTION_DIRECT,
                         self.src_md, self.md(self.w_shape), self.b_md, self.dst_md, *self.geometry, self.fwd_pd, None)
            self.bwd_weights = (self.primitive(pd), self.weights_to(pd, _QUERY_DIFF_WEIGHTS_MD, into=False))
        primitive, reorder = self.bwd_weights
        grad_W = xp.empty(self.w_shape, dtype=delta.dtype)
        blocked = grad_W if reorder is None else xp.empty(max(1, reorder[2] // 4), dtype=delta.dtype)
        args = [(_ARG_SRC, self.src_md, x), (_ARG_DIFF_DST, self.dst_md, delta),
                (_ARG_DIFF_WEIGHTS, self.w_md if reorder is None else reorder[1], blocked)]
        grad_b = None
        if self.b_md is not None:
            grad_b = xp.empty(self.b_shape, dtype=delta.dtype)
            args.append((_ARG_DIFF_BIAS, self.b_md, grad_b))
        self.lib.execute(primitive, args)
        if reorder is not None:
            self.lib.execute(reorder[0], [(_ARG_SRC, reorder[1], blocked), (_ARG_DST, self.w_md, grad_W)])
        O = self.out_shape[1]  # noqa: E741 - output channels, as the formulas
        return grad_W.reshape(O, *self.w_shape[-len(self.in_shape) + 1:]), grad_b


def _dense_strides(a: Any) -> tuple | None:
    """Element strides of ``a`` when its elements fill one block of memory in some axis order (C order,
    channels-last, any transpose of a contiguous array), else None. Axes of size 1 (whose stride NumPy leaves
    arbitrary: 0 after ``x[None]``) get the stride of their place in (N, C, …) or (N, …, C) order."""
    item, strides = a.itemsize, a.strides
    if any(st < 0 or st % item for st in strides):
        return None
    expected = item
    for axis in sorted(range(a.ndim), key=lambda k: strides[k]):
        if a.shape[axis] != 1:
            if strides[axis] != expected:
                return None
            expected *= a.shape[axis]
    order = [k for k in sorted(range(a.ndim), key=lambda k: -strides[k]) if a.shape[k] != 1]  # outer → inner
    for candidate in (tuple(range(a.ndim)), (0, *range(2, a.ndim), 1)):
        if [k for k in candidate if a.shape[k] != 1] == order:
            return _strides_for_order(a.shape, candidate)
    return _strides_for_order(a.shape, [k for k in range(a.ndim) if a.shape[k] == 1] + order)


def _strides_for_order(shape: tuple, order: Any) -> tuple:
    """Element strides of a dense array of ``shape`` whose axes lie in memory in ``order``, outermost first."""
    strides, step = [0] * len(shape), 1
    for axis in reversed(list(order)):
        strides[axis] = step
        step *= shape[axis]
    return tuple(strides)


def _strides_in_order(shape: tuple, like: tuple) -> tuple:
    """Element strides of a dense array of ``shape`` whose axes are ordered in memory as ``like``'s strides."""
    return _strides_for_order(shape, sorted(range(len(shape)), key=lambda k: (-like[k], k)))


def _empty_dense(xp: Any, shape: tuple, strides: tuple, dtype: Any) -> Any:
    """An uninitialised array of ``shape`` laid out in memory as ``strides`` orders the axes."""
    order = sorted(range(len(shape)), key=lambda k: -strides[k])  # outermost axis first
    block = xp.empty([shape[k] for k in order], dtype=dtype)
    return block.transpose([order.index(k) for k in range(len(shape))])


class _ReLU(_Plan):
    """ReLU's backward over n float32 numbers in one block: ∂L/∂z = ∂L/∂a ⊙ 1[a > 0], read off a = max(0, z)."""

    def __init__(self, lib: _Library, key: tuple) -> None:
        super().__init__(lib)
        self.md1 = self.md((key[1],), (1,))
        fwd = self.pd("dnnl_eltwise_forward_primitive_desc_create", _FORWARD_TRAINING, _RELU_USE_DST_FOR_BWD,
                      self.md1, self.md1, 0.0, 0.0, None)  # only a hint for the backward: the forward is NumPy's
        bwd = self.pd("dnnl_eltwise_backward_primitive_desc_create", _RELU_USE_DST_FOR_BWD, self.md1, self.md1,
                      self.md1, 0.0, 0.0, fwd, None)
        self.bwd = self.usable(bwd)
        self.ok = self.bwd is not None

    def backward(self, xp: Any, a: Any, grad_a: Any) -> Any:
        grad_z = xp.empty_like(a)  # the layout of a (and of ∂L/∂a: the caller checked they match)
        self.lib.execute(self.bwd, [(_ARG_DST, self.md1, a), (_ARG_DIFF_DST, self.md1, grad_a),
                                    (_ARG_DIFF_SRC, self.md1, grad_z)])
        return grad_z


_RELU_MIN = 1 << 16  # below this many numbers NumPy's single pass is quicker than a call into oneDNN


def relu_backward(xp: Any, a: Any, grad_a: Any) -> Any:
    """∂L/∂z of a = max(0, z) by oneDNN (both cores), or None when NumPy should compute ``∂L/∂a ⊙ 1[a > 0]``.

    Used for float32 arrays of at least 65 536 numbers whose memory is one block in the same layout (a
    convolution's channels-last output and the gradient the layer above hands back both are).
    """
    if xp is not NUMPY.xp or a.dtype != xp.float32 or grad_a.dtype != a.dtype or a.size < _RELU_MIN:
        return None
    if a.shape != grad_a.shape or not enabled():
        return None
    layout = _dense_strides(a)
    if layout is None or _dense_strides(grad_a) != layout:
        return None
    plan = _cached(("relu", a.size), _ReLU)
    return None if plan is None else plan.backward(xp, a, grad_a)


class _MaxPool(_Plan):
    """Max pooling over (N, C, H, W) in a given memory layout into channels-last (N, H_out, W_out, C); the
    window's argmax is kept in oneDNN's workspace (one byte per output) for the backward."""

    def __init__(self, lib: _Library, key: tuple) -> None:
        super().__init__(lib)
        _, self.in_shape, self.in_strides, kernel, stride, pads_l, pads_r, dilation, self.out_shape = key
        self.src_md = self.md(self.in_shape, self.in_strides)
        self.out_strides = _strides_in_order(self.out_shape, self.in_strides)  # the input's layout: a mixed
        self.dst_md = self.md(self.out_shape, self.out_strides)  # pair of layouts has only the reference kernel
        geometry = (_dims(stride), _dims(kernel), _dims([d - 1 for d in dilation]), _dims(pads_l), _dims(pads_r))
        fwd = self.pd("dnnl_pooling_forward_primitive_desc_create", _FORWARD_TRAINING, _POOLING_MAX, self.src_md,
                      self.dst_md, *geometry, None)
        self.ws_md = _P(self.lib.lib.dnnl_primitive_desc_query_md(fwd, _QUERY_WORKSPACE_MD, 0))
        self.ws_size = self.lib.lib.dnnl_memory_desc_get_size(self.ws_md)
        self.fwd = self.usable(fwd)
        bwd = self.pd("dnnl_pooling_backward_primitive_desc_create", _POOLING_MAX, self.src_md, self.dst_md,
                      *geometry, fwd, None)
        self.bwd = self.usable(bwd)
        self.ok = self.fwd is not None and self.bwd is not None

    def forward(self, xp: Any, x: Any) -> tuple:
        """(a (N, C, H_out, W_out) in the input's layout, the workspace)."""
        a = _empty_dense(xp, self.out_shape, self.out_strides, x.dtype)
        workspace = xp.empty(max(1, self.ws_size), dtype=xp.uint8)
        self.lib.execute(self.fwd, [(_ARG_SRC, self.src_md, x), (_ARG_DST, self.dst_md, a),
                                    (_ARG_WORKSPACE, self.ws_md, workspace)])
        return a, workspace

    def backward(self, xp: Any, grad_a: Any, workspace: Any) -> Any:
        """∂L/∂x (N, C, H, W) in the input's layout from ∂L/∂a (N, C, H_out, W_out), copied into the output's
        layout first where it is in another."""
        if _dense_strides(grad_a) != self.out_strides:
            copy = _empty_dense(xp, self.out_shape, self.out_strides, grad_a.dtype)
            copy[...] = grad_a
            grad_a = copy
        grad_x = _empty_dense(xp, self.in_shape, self.in_strides, grad_a.dtype)
        self.lib.execute(self.bwd, [(_ARG_DIFF_DST, self.dst_md, grad_a), (_ARG_WORKSPACE, self.ws_md, workspace),
                                    (_ARG_DIFF_SRC, self.src_md, grad_x)])
        return grad_x


def max_pool(xp: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out: tuple) -> tuple | None:
    """(a (N, C, H_out, W_out) in x's layout, the plan, its workspace) for 2-D max pooling of x (N, C, H, W)
    by oneDNN, or None when NumPy's passes should run: not float32, a layout that is not one block, or an
    input where oneDNN and PyTorch differ — a NaN (PyTorch's maximum is NaN, oneDNN's skips it) or a window of
    only −∞ (oneDNN gives the lowest finite float)."""
    if xp is not NUMPY.xp or x.dtype != xp.float32 or x.ndim != 4 or x.size == 0 or not enabled():
        return None
    strides = _dense_strides(x)
    if strides is None:
        return None
    flat = xp.lib.stride_tricks.as_strided(x, (x.size,), (x.itemsize,))  # the block, in memory order
    if xp.isnan(flat.max()):
        return None
    H, W = x.shape[2:]
    pads_r = tuple((out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - (H, W)[i] - padding[i]
                   for i in range(2))
    key = ("max_pool", tuple(x.shape), strides, tuple(kernel), tuple(stride), tuple(padding), pads_r,
           tuple(dilation), (x.shape[0], x.shape[1], *out))
    plan = _cached(key, _MaxPool)
    if plan is None:
        return None
    a, workspace = plan.forward(xp, x)
    if a.size and a.min() == -xp.finfo(xp.float32).max:  # a window of −∞ only (or a true −3.4e38): NumPy's
        return None
    return a, plan, workspace


_GEMM_MIN = 1 << 20  # multiply-adds below which OpenBLAS's one thread is as quick as the call into oneDNN


def _gemm_operand(a: Any) -> tuple | None:
    """('N' or 'T', leading dimension) of a 2-D array in row-major or column-major order, else None."""
    if a.flags.c_contiguous and a.strides[-1] == a.itemsize:
        return b"N", max(1, a.shape[1])
    if a.flags.f_contiguous and a.strides[0] == a.itemsize:
        return b"T", max(1, a.shape[0])
    return None


def matmul(xp: Any, a: Any, b: Any) -> Any:
    """a @ b for float32 2-D arrays by oneDNN's sgemm on its threads, or None when NumPy's ``@`` should run.

    Only once oneDNN is in use (a convolution ran, so OpenBLAS is down to one thread) and for products of at
    least 2²⁰ multiply-adds (the textbook CNN's Linear(9216, 128): 75 M each way); operands may be transposed
    views (``W.T``) of contiguous arrays.
    """
    if xp is not NUMPY.xp or not in_use() or a.ndim != 2 or b.ndim != 2 or a.dtype != xp.float32:
        return None
    M, K = a.shape
    N = b.shape[1]
    if b.dtype != a.dtype or b.shape[0] != K or M * N * K < _GEMM_MIN or not enabled():
        return None
    op_a, op_b = _gemm_operand(a), _gemm_operand(b)
    if op_a is None or op_b is None:
        return None
    lib = _state["library"]
    c = xp.empty((M, N), dtype=a.dtype)
    with lib.lock:
        lib.check(lib.lib.dnnl_sgemm(op_a[0], op_b[0], M, N, K, 1.0, a.ctypes.data, op_a[1], b.ctypes.data,
                                     op_b[1], 0.0, c.ctypes.data, max(1, N)), "sgemm")
    return c


_plans: OrderedDict = OrderedDict()
_MAX_PLANS = 64


def _start() -> None:
    """The first use of oneDNN in this process: one thread pool awake on the cores (see the module docstring)."""
    if not _state["in_use"]:
        _state["in_use"] = True
        from .. import runtime

        runtime._openmp_started()


def _cached(key: tuple, build: Any) -> Any:
    """The plan for ``key`` (built once, kept in a small LRU cache), or None where oneDNN should not run it."""
    plan = _plans.get(key)
    if plan is None:
        _start()
        try:
            plan = build(_state["library"], key)
        except RuntimeError:  # a shape oneDNN has no primitive for: NumPy's path instead, from now on
            plan = False
        if plan is not False and not plan.ok:  # only the reference kernel: NumPy's path is faster
            plan = False
        _plans[key] = plan
        if len(_plans) > _MAX_PLANS:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    return plan or None


def conv(xp: Any, dtype: Any, in_shape: tuple, w_shape: tuple, stride: tuple, pads_l: tuple, pads_r: tuple,
         dilation: tuple, groups: int, has_bias: bool) -> _Conv | None:
    """The oneDNN plan for this convolution, or None when the im2col path should run (see the module docstring).

    ``in_shape`` (N, C, *spatial) and ``w_shape`` (O, C/g, *kernel); padding before and after each spatial axis.
    """
    if xp is not NUMPY.xp or xp.dtype(dtype) != xp.float32 or 0 in in_shape or 0 in w_shape:
        return None
    if not enabled():
        return None
    key = (tuple(in_shape), tuple(w_shape), tuple(stride), tuple(pads_l), tuple(pads_r), tuple(dilation),
           int(groups), bool(has_bias))
    return _cached(key, _Conv)
