"""Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions on channels-last arrays: forward, ∂L/∂a_prev and ∂L/∂W.

Private to ``conv.py`` (which states the convolution's formulas and picks this path by shape, see
:func:`applies`). The output is cut into 2×2 tiles; each reads a 4×4 input tile d, and (Lavin & Gray 2016)

    Y = Aᵀ [ U ⊙ V ] A,   U = G g Gᵀ (the 3×3 kernel g as a 4×4 tile),   V = Bᵀ d B (the input tile)

          ⎡1  0 −1  0⎤         ⎡ 1    0    0 ⎤
    Bᵀ =  ⎢0  1  1  0⎥    G =  ⎢1/2  1/2  1/2⎥    Aᵀ = ⎡1  1  1  0⎤
          ⎢0 −1  1  0⎥         ⎢1/2 −1/2  1/2⎥         ⎣0  1 −1 −1⎦
          ⎣0  1  0 −1⎦         ⎣ 0    0    1 ⎦

Summed over the input channels, U ⊙ V becomes 16 matrix products, one per tile position (ξ, ν):
M_ξν = V_ξν U_ξν with V_ξν (tiles, C), U_ξν (C, O): 16 multiplications per 2×2 outputs instead of 36, 2.25×
fewer FLOPs than im2col. The transforms are additions only (G's halves are exact in binary).

Backward, with δ = ∂L/∂z cut into the same 2×2 tiles:

    ∂L/∂U_ξν = V_ξνᵀ Δ̃_ξν,   Δ̃ = A δ Aᵀ (the tile of δ as a 4×4 tile),   ∂L/∂W = Gᵀ (∂L/∂U) G
                (the exact transpose of every linear step above: 16 products (C, tiles)·(tiles, O))
    ∂L/∂a_prev = the same F(2×2, 3×3) forward applied to δ padded by 2 with the kernel flipped and its channel
                 axes swapped (the full convolution), W′[c, o, i, j] = W[o, c, 2 − i, 2 − j]

Error: each output is a sum of the same products as the direct form, regrouped, with a few extra additions
(the transforms, whose coefficients are 0, ±1 and ±1/2). Measured in float32 against the float64 result on
N(0, 1) inputs and weights, C = 16 … 256: max |error| ≤ 6·10⁻⁷ · max |z| for z, ∂L/∂x and ∂L/∂W, the same as
the im2col product (≤ 9·10⁻⁷); the tests assert 5·10⁻⁶. In float64 it agrees with PyTorch to < 1e-12.

Speed (the reason it is OFF by default, see ENABLED): on this 2-core machine (OpenBLAS with the Haswell kernels
that OPENBLAS_CORETYPE selects here, one BLAS thread) the textbook CNN's training step took 1.52× PyTorch's with
it and 1.42× without (quiet machine, medians of 6 interleaved windows; 1.32× and 1.36× on a loaded one); its
second convolution (C = 32, O = 64, 26×26) alone: forward 0.89× the im2col time, ∂x (C = 64 → 32) 1.04×.
The 16 products have only C = 32 or 64 as their inner dimension, where OpenBLAS reaches about 30 GFLOP/s
against 40–45 for im2col's K = 288 product, and the transforms (single-threaded element-wise passes) cost about
what the 2.25× fewer FLOPs save. Wider layers gain more (C = O = 64 at 16×16: 0.77×; 128: 0.84×, loaded machine).
"""

from __future__ import annotations

from typing import Any

from ._im2col import _images_per_block, scratch

__all__ = ["ENABLED", "use", "applies", "forward", "grad_weight", "grad_input"]

# The fewest channels (C and O) it is used for: thinner products gain less than the transforms cost
# (C = O = 32 at 28×28 measured 1.37× the im2col time, so even 16 is generous).
MIN_CHANNELS = 16


# Which of the three products take the Winograd path where it applies ("forward", "input", "weight"); see use().
# Off by default: not measurably faster for the textbook CNN on this machine (module docstring). Opt in with
# ``shenjing.nn._winograd.ENABLED.update(forward=True, input=True, weight=True)``.
ENABLED = {"forward": False, "input": False, "weight": False}


def use(xp: Any, x_shape: tuple, W_shape: tuple, stride: tuple, dilation: tuple, groups: int) -> dict:
    """For one convolution: {"forward", "input", "weight"} → whether that product runs as F(2×2, 3×3)."""
    ok = applies(x_shape, W_shape, stride, dilation, groups) and getattr(xp, "__name__", "") == "numpy"
    return {key: ok and on for key, on in ENABLED.items()}


def applies(x_shape: tuple, W_shape: tuple, stride: tuple, dilation: tuple, groups: int) -> bool:
    """Whether F(2×2, 3×3) can be used: a 3×3 kernel, stride 1, no dilation, one group, C and O ≥ 16."""
    O, C, kh, kw = W_shape  # noqa: E741 - O output channels, as the formulas
    return (
        (kh, kw) == (3, 3)
        and stride == (1, 1)
        and dilation == (1, 1)
        and groups == 1
        and min(C, O) >= MIN_CHANNELS
        and x_shape[1] >= 4  # x is the padded channels-last input (N, H_p, W_p, C): at least 2×2 outputs
        and x_shape[2] >= 4
    )


def _filter_transform(xp: Any, W: Any) -> Any:
    """U = G g Gᵀ for every (o, c): (16, C, O), position ξν major."""
    G = xp.asarray([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=W.dtype)
    O, C = W.shape[:2]  # noqa: E741
    return xp.ascontiguousarray(xp.einsum("xi,ocij,yj->xyco", G, W, G).reshape(16, C, O))


def _input_transform(xp: Any, x: Any, th: int, tw: int, V: Any, R: Any) -> None:
    """V = Bᵀ d B for every 4×4 tile d of x (n, 2·t_h + 2, 2·t_w + 2, C), into V (4, 4, n·t_h·t_w, C).

    Rows first, on whole image rows (long contiguous runs): R[ξ] = (Bᵀ d)[ξ] (n, t_h, W_x, C); then the columns
    of the tiles, 2 pixels apart, all four ξ at once. R is a work buffer.
    """
    n, _, Wx, C = x.shape
    sN, sH, sW, sC = x.strides
    rows = xp.lib.stride_tricks.as_strided(x, shape=(n, th, 4, Wx, C), strides=(sN, 2 * sH, sH, sW, sC))
    R = R[: 4 * n * th * Wx * C].reshape(4, n, th, Wx, C)
    xp.subtract(rows[:, :, 0], rows[:, :, 2], out=R[0])
    xp.add(rows[:, :, 1], rows[:, :, 2], out=R[1])
    xp.subtract(rows[:, :, 2], rows[:, :, 1], out=R[2])
    xp.subtract(rows[:, :, 1], rows[:, :, 3], out=R[3])
    rN, rT, rW, rC = R.strides[1:]
    cols = xp.lib.stride_tricks.as_strided(
        R, shape=(4, n, th, tw, 4, C), strides=(R.strides[0], rN, rT, 2 * rW, rW, rC)
    )  # (ξ, n, t_h, t_w, j, C)
    V = V.reshape(4, 4, n, th, tw, C)
    xp.subtract(cols[..., 0, :], cols[..., 2, :], out=V[:, 0])
    xp.add(cols[..., 1, :], cols[..., 2, :], out=V[:, 1])
    xp.subtract(cols[..., 2, :], cols[..., 1, :], out=V[:, 2])
    xp.subtract(cols[..., 1, :], cols[..., 3, :], out=V[:, 3])


def _zero_grown(xp: Any, a: Any, shape: tuple) -> Any:
    """``a`` (N, H, W, C) in the top-left corner of zeros of ``shape``: odd sizes grown to whole 2×2 tiles."""
    grown = xp.zeros(shape, dtype=a.dtype)
    grown[:, : a.shape[1], : a.shape[2]] = a
    return grown


def forward(xp: Any, x: Any, W: Any, b: Any = None) -> Any:
    """z = W ⋆ x (+ b) for x (N, H_p, W_p, C) already padded, W (O, C, 3, 3): z (N, H_p − 2, W_p − 2, O)."""
    N, Hp, Wp, C = x.shape
    O = W.shape[0]  # noqa: E741
    Ho, Wo = Hp - 2, Wp - 2
    th, tw = -(-Ho // 2), -(-Wo // 2)
    if (Ho % 2) or (Wo % 2):  # an odd size: one more zero row / column so that the last tiles are whole
        x = _zero_grown(xp, x, (N, 2 * th + 2, 2 * tw + 2, C))
    U = _filter_transform(xp, W)
    even = (2 * th, 2 * tw) == (Ho, Wo)
    out = xp.empty((N, 2 * th, 2 * tw, O), dtype=x.dtype)
    block = _images_per_block(xp, N, 16 * th * tw * max(C, O) * x.itemsize)
    size = block * th * tw
    V = scratch(xp, "winograd_V", 16 * size * C, x.dtype)
    R = scratch(xp, "winograd_R", 4 * block * th * x.shape[2] * C, x.dtype)
    M = scratch(xp, "winograd_M", 16 * size * O, x.dtype)
    S = scratch(xp, "winograd_S", 8 * size * O, x.dtype)
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        P = (n1 - n0) * th * tw
        V_b, M_b = V[: 16 * P * C].reshape(16, P, C), M[: 16 * P * O].reshape(16, P, O)
        _input_transform(xp, x[n0:n1], th, tw, V_b, R)
        xp.matmul(V_b, U, out=M_b)  # M_ξν = V_ξν U_ξν
        M4 = M_b.reshape(4, 4, P, O)
        S_b = S[: 8 * P * O].reshape(2, 4, P, O)  # Aᵀ M: rows
        xp.add(M4[0], M4[1], out=S_b[0])
        S_b[0] += M4[2]
        xp.subtract(M4[1], M4[2], out=S_b[1])
        S_b[1] -= M4[3]
        # (Aᵀ M) A: columns, written into the output tiles (n, t_h, y, t_w, x, O) as (x, y, n, t_h, t_w, O)
        target = out[n0:n1].reshape(n1 - n0, th, 2, tw, 2, O).transpose(4, 2, 0, 1, 3, 5)
        S6 = S_b.reshape(2, 4, n1 - n0, th, tw, O)
        xp.add(S6[:, 0], S6[:, 1], out=target[0])
        target[0] += S6[:, 2]
        xp.subtract(S6[:, 1], S6[:, 2], out=target[1])
        target[1] -= S6[:, 3]
    if b is not None:
        out += b
    return out if even else out[:, :Ho, :Wo]


def grad_input(xp: Any, D: Any, W: Any, padded_shape: tuple) -> Any:
    """∂L/∂x on the padded input (N, H_p, W_p, C) from δ (N, H_o, W_o, O): the full convolution, by :func:`forward`."""
    N, Ho, Wo, O = D.shape  # noqa: E741
    padded = xp.empty((N, Ho + 4, Wo + 4, O), dtype=D.dtype)
    padded[:, :2], padded[:, Ho + 2 :], padded[:, 2 : Ho + 2, :2], padded[:, 2 : Ho + 2, Wo + 2 :] = 0, 0, 0, 0
    padded[:, 2 : Ho + 2, 2 : Wo + 2] = D
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # W′ (C, O, 3, 3)
    return forward(xp, padded, flipped)  # (N, H_o + 2, W_o + 2, C) = padded_shape


def grad_weight(xp: Any, x: Any, D: Any, W_shape: tuple) -> Any:
    """∂L/∂W (O, C, 3, 3) from the padded input x (N, H_p, W_p, C) and δ (N, H_o, W_o, O)."""
    N, _, _, C = x.shape
    _, Ho, Wo, O = D.shape  # noqa: E741
    th, tw = -(-Ho // 2), -(-Wo // 2)
    if (Ho % 2) or (Wo % 2):  # zero rows / columns: the padded tiles' δ is 0, their inputs are never read twice
        x = _zero_grown(xp, x, (N, 2 * th + 2, 2 * tw + 2, C))
        D = _zero_grown(xp, D, (N, 2 * th, 2 * tw, O))
    block = _images_per_block(xp, N, 16 * th * tw * max(C, O) * x.itemsize)
    size = block * th * tw
    V = scratch(xp, "winograd_V", 16 * size * C, x.dtype)
    R = scratch(xp, "winograd_R", 4 * block * th * x.shape[2] * C, x.dtype)
    E = scratch(xp, "winograd_M", 16 * size * O, x.dtype)
    Q = scratch(xp, "winograd_S", 8 * size * O, x.dtype)
    grad_U = xp.zeros((16, C, O), dtype=x.dtype)
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        nb = n1 - n0
        P = nb * th * tw
        V_b = V[: 16 * P * C].reshape(16, P, C)
        _input_transform(xp, x[n0:n1], th, tw, V_b, R)
        # Δ̃ = A δ Aᵀ with A = [[1, 0], [1, 1], [1, −1], [0, −1]]: rows, then columns
        d = D[n0:n1].reshape(nb, th, 2, tw, 2, O)
        Q_b = Q[: 8 * P * O].reshape(4, nb, th, tw, 2, O)  # 4 transformed rows (ξ), both columns
        d0, d1 = d[:, :, 0], d[:, :, 1]  # (n, t_h, t_w, 2, O)
        Q_b[0] = d0
        xp.add(d0, d1, out=Q_b[1])
        xp.subtract(d0, d1, out=Q_b[2])
        xp.negative(d1, out=Q_b[3])
        E_b = E[: 16 * P * O].reshape(4, 4, nb, th, tw, O)
        E_b[:, 0] = Q_b[..., 0, :]
        xp.add(Q_b[..., 0, :], Q_b[..., 1, :], out=E_b[:, 1])
        xp.subtract(Q_b[..., 0, :], Q_b[..., 1, :], out=E_b[:, 2])
        xp.negative(Q_b[..., 1, :], out=E_b[:, 3])
        grad_U += xp.matmul(V_b.transpose(0, 2, 1), E_b.reshape(16, P, O))  # ∂L/∂U_ξν = V_ξνᵀ Δ̃_ξν
    G = xp.asarray([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=x.dtype)
    return xp.einsum("xi,xyco,yj->ocij", G, grad_U.reshape(4, 4, C, O), G)
