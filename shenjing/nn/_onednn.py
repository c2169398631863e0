"""oneDNN's convolutions on the CPU: the kernels PyTorch's CPU convolutions call, reached through ``ctypes``.

oneDNN (Intel's deep-learning kernel library, ``pip install onednn-cpu-gomp``) computes the three products of a
convolution — forward z = W ⋆ a_prev + b, ∂L/∂a_prev (backward data) and ∂L/∂W, ∂L/∂b (backward weights) — with
JIT-compiled direct kernels that block the image and the channels for the CPU's vector registers and caches. They
are the same formulas as ``conv.py``'s im2col path (its docstring states them); only the loop order differs. On the
2-core AVX-512 machine of ``benchmarks/bench_cnn_step.py``, the textbook CNN's second convolution (batch 64,
32 → 64 channels, 26 × 26) takes 4.7 / 4.5 / 5.0 ms forward / ∂x / ∂W here, against 9–22 ms for each by im2col
and OpenBLAS.

Used when all of these hold (otherwise ``conv.py``'s im2col products run, with the same results to float32
rounding):

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
process; the linear layers' products are small next to the convolutions. ``SHENJING_ONEDNN=0`` in the environment,
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

__all__ = ["available", "enabled", "conv", "set_verbose", "set_num_threads", "library_path"]

# --- the C API of oneDNN 3 (dnnl.h / dnnl_types.h): the few values used here ---------------------------------------
_F32 = 3  # dnnl_f32
_FORMAT_ANY = 1  # dnnl_format_tag_any: the primitive chooses the layout (the weights)
_CPU = 1  # dnnl_cpu
_IN_ORDER = 1  # dnnl_stream_in_order
_FORWARD_TRAINING = 64  # dnnl_forward_training
_CONVOLUTION_DIRECT = 1  # dnnl_convolution_direct
_QUERY_IMPL_INFO = 8  # dnnl_query_impl_info_str
_QUERY_WEIGHTS_MD, _QUERY_DIFF_WEIGHTS_MD = 131, 132  # dnnl_query_weights_md, dnnl_query_diff_weights_md
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


class _Conv:
    """One convolution shape's oneDNN primitives: forward, then (when first needed) backward data and weights."""

    def __init__(self, lib: _Library, key: tuple) -> None:
        self.lib, self.key = lib, key
        (N, C, *spatial), (O, Cg, *kernel), stride, pads_l, pads_r, dilation, groups, has_bias = key
        out = [(spatial[i] + pads_l[i] + pads_r[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
               for i in range(len(spatial))]
        self.in_shape, self.out_shape = (N, C, *spatial), (N, O, *out)
        self.w_shape = (O, Cg, *kernel) if groups == 1 else (groups, O // groups, Cg, *kernel)
        self.b_shape = (O,) if has_bias else None
        self.geometry = (_dims(stride), _dims([d - 1 for d in dilation]), _dims(pads_l), _dims(pads_r))
        self.owned: list = []  # (destroy function, handle) pairs, freed with the plan
        self.src_md = self.md(self.in_shape, _channels_last_strides(self.in_shape))
        self.dst_md = self.md(self.out_shape, _channels_last_strides(self.out_shape))
        self.w_md = self.md(self.w_shape, _plain_strides(self.w_shape))
        self.b_md = self.md(self.b_shape, (1,)) if has_bias else None
        self.fwd_pd = self.pd("dnnl_convolution_forward_primitive_desc_create", _FORWARD_TRAINING, _CONVOLUTION_DIRECT,
                              self.src_md, self.md(self.w_shape), self.b_md, self.dst_md, *self.geometry, None)
        self.name = lib.implementation(self.fwd_pd)
        self.fwd = None if self.name.startswith("ref") else self.primitive(self.fwd_pd)
        self.fwd_weights = self.weights_to(self.fwd_pd)
        self.bwd_data = self.bwd_weights = None

    # --- handles owned by the plan ---------------------------------------------------------------------------------
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
        N, O, *out = self.out_shape
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


_plans: OrderedDict = OrderedDict()
_MAX_PLANS = 32


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
    plan = _plans.get(key)
    if plan is None:
        if not _state["in_use"]:
            _state["in_use"] = True
            from .. import runtime

            runtime._openmp_started()  # one thread pool awake on the cores at a time: see the module docstring
        try:
            plan = _Conv(_state["library"], key)
        except RuntimeError:  # a shape oneDNN has no primitive for: im2col instead, from now on
            plan = False
        if plan is not False and plan.fwd is None:  # only the reference kernel: im2col is faster
            plan = False
        _plans[key] = plan
        if len(_plans) > _MAX_PLANS:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    return plan or None
