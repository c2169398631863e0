"""The convolution's kernels on channels-last arrays: im2col in cache-sized batch blocks, and ∂L/∂a_prev by rows.

Private to ``conv.py``, which states the formulas; these functions are how they run fast on a CPU: the batch
is processed in blocks of images (a column matrix of about 6 MiB each: a few large matrix products per layer),
each block's columns are filled by one copy of a strided window view, and the work buffers are kept per
thread and reused from call to call (see :func:`scratch`).
"""

from __future__ import annotations

import threading
from typing import Any

from ..backend import backend_for_module, backend_of

__all__ = ["column_blocks", "plain_blocks", "block_images", "grad_input_by_rows", "scratch"]

# One batch block's column matrix. Measured on the textbook CNN (2 cores): 3–6 MiB is best on a quiet machine
# (12 MiB +4 %, 24 MiB +20 %); on a shared one, fewer and larger products suffer far less from BLAS threads
# waiting for each other (its backward with 3 MiB blocks: 3× slower than with 12 MiB). 6 MiB: 8–11 images of
# the second convolution.
BLOCK_BYTES = 6 << 20


def _images_per_block(xp: Any, N: int, per_image: int) -> int:
    """How many images a block holds: about BLOCK_BYTES of columns on the CPU, the whole batch on a GPU."""
    budget = getattr(backend_for_module(xp), "conv_block_bytes", None) or BLOCK_BYTES
    return max(1, min(N, budget // max(per_image, 1)))


def column_blocks(xp: Any, view: Any, groups: int, ones: bool = False) -> Any:
    """Yield (n0, n1, A) for blocks of images: A (g, rows, k_h·k_w·C/g) holds every window of images n0..n1−1.

    ``view`` is the (N, H_out, W_out, k_h, k_w, C) window view; filling A is one copy (im2col). The buffer
    is reused from block to block. With ``ones`` (one group only) A has an extra last column of ones, so that
    [A 1] [W_m; b] = A W_m + b adds the bias inside the product, and [A 1]ᵀ Δ = [∂L/∂W_m; ∂L/∂b] sums δ
    for the bias gradient inside it: two passes over the output saved.
    """
    N, Ho, Wo, kh, kw, C = view.shape
    Cg = C // groups
    K = kh * kw * Cg + (1 if ones else 0)
    per_image = Ho * Wo * K * groups * view.itemsize
    block = _images_per_block(xp, N, per_image)
    if groups == 1 and C < 8:
        yield from _transposed_column_blocks(xp, view, block, K, ones)
        return
    flat = scratch(xp, "columns", block * Ho * Wo * K * groups, view.dtype)
    if ones:
        flat.reshape(-1, K)[:, -1] = 1  # the buffer is reused block to block: the ones column is written once
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        nb = n1 - n0
        A = flat[: nb * Ho * Wo * K * groups].reshape(groups, nb * Ho * Wo, K)
        if groups == 1:
            xp.copyto(A[0, :, : kh * kw * C].reshape(nb, Ho, Wo, kh, kw, C), view[n0:n1])
        else:  # group-major columns: (g, rows, (i, j, c)) for one batched product
            grouped = view[n0:n1].reshape(nb, Ho, Wo, kh, kw, groups, Cg).transpose(5, 0, 1, 2, 3, 4, 6)
            xp.copyto(A.reshape(groups, nb, Ho, Wo, kh, kw, Cg), grouped)
        yield n0, n1, A


def _transposed_column_blocks(xp: Any, view: Any, block: int, K: int, ones: bool) -> Any:
    """:func:`column_blocks` for few channels (a first layer, C < 8): A built as Aᵀ (K, rows), yielded as a view.

    Row (i, j, c) of Aᵀ is one contiguous copy of a shifted image block, where A's rows would hold only C
    values each; the products take the transposed view as it is (BLAS reads either layout).
    """
    N, Ho, Wo, kh, kw, C = view.shape
    P = Ho * Wo
    columns_T = scratch(xp, "columns", K * block * P, view.dtype).reshape(K, block * P)
    if ones:
        columns_T[-1] = 1
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        nb = n1 - n0
        A_T = columns_T[:, : nb * P]  # (K, rows)
        for i in range(kh):
            for j in range(kw):
                k = (i * kw + j) * C
                A_T[k : k + C].reshape(C, nb, Ho, Wo)[...] = view[n0:n1, :, :, i, j].transpose(3, 0, 1, 2)
        yield n0, n1, A_T.T[None]  # (1, rows, K)


def grad_input_by_rows(xp: Any, D: Any, W: Any, padded_shape: tuple) -> Any:
    """∂L/∂a_prev for stride 1, dilation 1, one group, as a full convolution split by kernel rows.

    ∂L/∂a_prev[n, y, x, c] = Σ_{i,j,o} δ[n, y − i, x − j, o] · W[o, c, i, j]  (δ = 0 outside), computed as

        R_i[n, y', x, c] = Σ_{j,o} δ[n, y', x − j, o] · W[o, c, i, j]     one product for all i: columns of
                           δ padded along x only (rows, k_w·O) times W as (k_w·O, k_h·C)
        ∂L/∂a_prev[n, y' + i] += R_i[n, y']                               k_h adds of whole image rows

    The column matrix is k_w copies of δ (not k_h·k_w) and there are k_h adds of whole image rows, where a
    plain col2im adds k_h·k_w strided blocks: about half the time of col2im for the textbook CNN.
    """
    N, Ho, Wo, O = D.shape  # noqa: E741 - O output channels, as the formulas
    _, C, kh, kw = W.shape
    Hp, Wp = padded_shape[1:3]
    W_rows = W[:, :, :, ::-1].transpose(3, 0, 2, 1).reshape(kw * O, kh * C)  # [(j′, o), (i, c)], j′ = k_w − 1 − j
    grad_x = xp.empty(padded_shape, dtype=D.dtype)
    grad_x[:, Ho:] = 0  # rows only the later kernel rows reach; the first add below writes the others
    per_image = Ho * Wp * kw * O * D.itemsize
    block = _images_per_block(xp, N, per_image)
    shifted = scratch(xp, "shifted", block * Ho * (Wo + 2 * (kw - 1)) * O, D.dtype)
    shifted = shifted.reshape(block, Ho, Wo + 2 * (kw - 1), O)  # δ with k_w − 1 zero columns each side
    shifted[:, :, : kw - 1] = 0
    shifted[:, :, kw - 1 + Wo :] = 0
    cols = scratch(xp, "columns", block * Ho * Wp * kw * O, D.dtype)
    products = scratch(xp, "products", block * Ho * Wp * kh * C, D.dtype)
    sN, sH, sW, sC = shifted.strides
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        nb = n1 - n0
        shifted[:nb, :, kw - 1 : kw - 1 + Wo] = D[n0:n1]
        view = xp.lib.stride_tricks.as_strided(shifted, shape=(nb, Ho, Wp, kw, O), strides=(sN, sH, sW, sW, sC))
        A = cols[: nb * Ho * Wp * kw * O].reshape(nb, Ho, Wp, kw, O)
        xp.copyto(A, view)
        R = products[: nb * Ho * Wp * kh * C].reshape(nb * Ho * Wp, kh * C)
        xp.matmul(A.reshape(nb * Ho * Wp, kw * O), W_rows, out=R)  # (rows, k_h·C)
        R = R.reshape(nb, Ho, Wp, kh, C)
        target = grad_x[n0:n1]
        target[:, :Ho] = R[:, :, :, 0]
        for i in range(1, kh):
            target[:, i : i + Ho] += R[:, :, :, i]
    return grad_x


def block_images(N: int, view: Any) -> int:
    """Images per block of :func:`plain_blocks` for the (N, H_out, W_out, k_h, k_w, C) window view."""
    _, Ho, Wo, kh, kw, C = view.shape
    return _images_per_block(backend_of(view).xp, N, Ho * Wo * kh * kw * C * view.itemsize)


def plain_blocks(N: int, view: Any) -> Any:
    """Blocks without columns (∂L/∂a_prev alone needs none)."""
    block = block_images(N, view)
    for n0 in range(0, N, block):
        yield n0, min(N, n0 + block), None


_scratch = threading.local()  # per thread: {(name, dtype, array module): 1-D buffer}


def scratch(xp: Any, name: str, size: int, dtype: Any) -> Any:
    """A 1-D work buffer of ``size`` elements, kept per thread and reused from call to call (contents undefined).

    NOTE: why keep it: a fresh multi-MiB array costs a page fault per 4 KiB each time (about 4 µs each on a
    VM), more than the copy that fills it; and larger blocks mean fewer, larger matrix products, which is
    what keeps BLAS threads efficient when the machine is shared. Held: the largest size asked for each name
    (about 15 MiB for the textbook CNN), per thread that runs convolutions.
    """
    buffers = getattr(_scratch, "buffers", None)
    if buffers is None:
        buffers = _scratch.buffers = {}
    key = (name, str(dtype), xp.__name__)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = xp.empty(size, dtype=dtype)
    return buffer[:size]
