"""Spatial transformers: ``F.affine_grid`` (where each output pixel looks) and ``F.grid_sample`` (what it sees there).

A grid holds, for every output pixel, a point (x, y) of the input in normalised coordinates, −1 … 1 from the
left / top edge to the right / bottom one. ``affine_grid`` makes it from a batch of 2 × 3 matrices θ,

    grid[n, h, w] = θₙ [x_w, y_h, 1]ᵀ          ∂L/∂θₙ = Σ_{h,w} ∂L/∂grid[n, h, w] [x_w, y_h, 1]

and ``grid_sample`` reads the input there. A normalised x becomes the pixel coordinate
i_x = (x + 1)(W − 1)/2 (``align_corners=True``: −1 and 1 are the centres of the corner pixels) or
i_x = ((x + 1)W − 1)/2 (False: they are the corner pixels' outer edges). With t_x = i_x − ⌊i_x⌋, bilinear mode is

    out = Σ_taps w·v,   w_nw = (1 − t_x)(1 − t_y), w_ne = t_x(1 − t_y), w_sw = (1 − t_x)t_y, w_se = t_x t_y

over the four pixels around (i_x, i_y); nearest takes the nearest pixel (ties to even, as PyTorch); bicubic the
4 × 4 pixels around with Keys' cubic weights (a = −0.75). Padding decides what lies outside: ``zeros`` (taps
outside read 0), ``border`` (coordinates clipped to the edge pixels), ``reflection`` (coordinates mirrored at
the edges). A volume (N, C, D, H, W) is read the same way with a grid of (x, y, z) points: trilinear weights over
the 8 voxels around each, or the nearest one (no bicubic in 3-D, as PyTorch). The gradients:

    ∂L/∂input[pixel] = Σ over the outputs that read it of w · ∂L/∂out        (a scatter-add)
    ∂L/∂x = Σ_c ∂L/∂out · Σ_taps (∂w/∂i_x) v · ∂i_x/∂x,   ∂i_x/∂x = (W − 1)/2 or W/2 (times 0 where a border
            clip holds i_x still, −1 where a reflection mirrors it); nearest gives the grid no gradient.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor

__all__ = ["affine_grid", "grid_sample", "GridSampleFunction"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")
_A = -0.75  # Keys' cubic kernel, as PyTorch's bicubic


def _default_align_corners(align_corners: Any, name: str) -> bool:
    if align_corners is None:
        warnings.warn(
            f"Default {name} behavior has changed to align_corners=False since 1.3.0. Please specify "
            "align_corners=True if the old behavior is desired. See the documentation of grid_sample for details.",
            UserWarning,
            stacklevel=3,
        )
        return False
    return bool(align_corners)


# ---- affine_grid ------------------------------------------------------------------------------------------------
def _base_coordinates(xp: Any, steps: int, align_corners: bool, dtype: Any) -> Any:
    """The normalised centres of ``steps`` pixels: −1 … 1 through the corner centres, or inset by half a pixel."""
    if steps <= 1:
        return xp.zeros(max(steps, 0), dtype=dtype)
    points = xp.linspace(-1.0, 1.0, steps, dtype=dtype)
    return points if align_corners else points * (steps - 1) / steps  # (rounded as PyTorch's)


def affine_grid(theta: Tensor, size: Any, align_corners: Any = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the affine maps θ (N, 2, 3) for an output of ``size`` (N, C, H, W), or
    (N, D, H, W, 3) of θ (N, 3, 4) for (N, C, D, H, W); see the module docstring for the formula."""
    align_corners = _default_align_corners(align_corners, "affine_grid")
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid(): argument 'theta' must be a Tensor, not {type(theta).__name__}")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"{tuple(theta.shape)}.")
        spatial = size[2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[1:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"{tuple(theta.shape)}.")
        spatial = size[2:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if theta.shape[0] != size[0]:
        raise ValueError(f"Expected theta's batch size {theta.shape[0]} to equal the size's N = {size[0]} (size "
                         f"{size}).")
    if min(spatial) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation of "
                      "affine_grid for details.", UserWarning, stacklevel=2)
    xp = backend_of(theta.array).xp
    dtype = theta.array.dtype
    axes = [_base_coordinates(xp, s, align_corners, dtype) for s in reversed(spatial)]  # x (width) first
    mesh = xp.meshgrid(*axes[::-1], indexing="ij")  # (…, H, W) each, slowest spatial axis first
    base = xp.stack([m for m in mesh[::-1]] + [xp.ones_like(mesh[0])], axis=-1)  # (…, H, W, k + 1): x, y, (z), 1
    points = base.reshape(-1, len(spatial) + 1)
    grid = Tensor._wrap(points).matmul(theta.transpose(1, 2))  # (N, H·W, k): θₙ [x, y, 1]ᵀ for every pixel
    return grid.reshape((size[0],) + spatial + (len(spatial),))


# ---- grid_sample ------------------------------------------------------------------------------------------------
def _unnormalize(x: Any, size: int, align_corners: bool) -> tuple:
    """Pixel coordinates of normalised ones, and d(pixel)/d(normalised)."""
    if align_corners:
        return (x + 1) * ((size - 1) / 2), (size - 1) / 2
    return ((x + 1) * size - 1) / 2, size / 2


def _clip(xp: Any, i: Any, size: int) -> tuple:
    """i clipped to [0, size − 1] and its derivative (0 where held at an edge, as PyTorch's clip_coordinates)."""
    inside = (i > 0) & (i < size - 1)
    return xp.clip(i, 0, size - 1), inside


def _reflect(xp: Any, i: Any, twice_low: int, twice_high: int) -> tuple:
    """i mirrored into [low, high] (PyTorch's reflect_coordinates) and its derivative (±1)."""
    if twice_low == twice_high:
        return xp.zeros_like(i), xp.zeros_like(i)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = i - low
    sign = xp.where(shifted < 0, -1.0, 1.0).astype(i.dtype)
    distance = xp.abs(shifted)
    flips = xp.floor(distance / span)
    extra = xp.fmod(distance, span)
    even = (flips % 2) == 0
    return xp.where(even, extra + low, span - extra + low), xp.where(even, sign, -sign)


def _pad_coordinates(xp: Any, i: Any, size: int, padding_mode: str, align_corners: bool) -> tuple:
    """PyTorch's compute_coordinates: (coordinate, derivative) after the border / reflection rule."""
    one = xp.ones_like(i)
    if padding_mode == "border":
        i, inside = _clip(xp, i, size)
        return i, inside.astype(i.dtype)
    if padding_mode == "reflection":
        i, d_reflect = _reflect(xp, i, 0, 2 * (size - 1)) if align_corners else _reflect(xp, i, -1, 2 * size - 1)
        i, inside = _clip(xp, i, size)
        return i, d_reflect * inside
    return i, one


def _cubic_weights(t: Any) -> tuple:
    """Keys' weights of the four taps at offsets −1, 0, 1, 2 from ⌊i⌋ for the fraction t, and their derivatives."""
    a = _A

    def near(s: Any) -> Any:  # |s| ≤ 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def d_near(s: Any) -> Any:
        return (3 * (a + 2) * s - 2 * (a + 3)) * s

    def far(s: Any) -> Any:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    def d_far(s: Any) -> Any:
        return (3 * a * s - 10 * a) * s + 8 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    slopes = (d_far(t + 1), d_near(t), -d_near(1 - t), -d_far(2 - t))
    return weights, slopes


class GridSampleFunction(Function):
    """out[n, c, …] = Σ_taps w · input[n, c, tap] at the grid's points (see the module docstring); 2-D images
    (N, C, H, W) with grids (N, H_out, W_out, 2), or volumes (N, C, D, H, W) with (N, D_out, H_out, W_out, 3),
    the grid's last axis (x, y[, z]) running along W, H[, D]."""

    def forward(self, x: Any, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool = False) -> Any:
        xp = self.xp
        N, C = x.shape[:2]
        spatial = tuple(x.shape[2:])
        out_spatial = tuple(grid.shape[1:-1])
        k = len(spatial)
        order = (0,) + tuple(range(2, 2 + k)) + (1,)  # channels last: pixels as rows (n, [z,] y, x)
        rows = xp.ascontiguousarray(x.transpose(order)).reshape(-1, C)
        P = 1
        for s in out_spatial:
            P *= s
        taps = self._taps(grid.reshape(N, P, k), spatial, mode, padding_mode, align_corners)
        out = xp.zeros((N * P, C), dtype=x.dtype)
        for index, weight, _ in taps:
            out += rows[index] * weight[:, None]
        self.rows, self.taps, self.shapes = rows, taps, (x.shape, grid.shape)
        back = (0, k + 1) + tuple(range(1, k + 1))
        return out.reshape((N,) + out_spatial + (C,)).transpose(back)  # a channels-first view

    def _taps(self, grid: Any, size: tuple, mode: str, padding_mode: str, align_corners: bool) -> list:
        """[(row index (N·P,), weight, (∂weight/∂x, ∂weight/∂y[, ∂weight/∂z]))] per tap, the derivatives by the
        normalised grid coordinates."""
        xp = self.xp
        N, P, k = grid.shape
        extents = size[::-1]  # grid coordinate a runs along axis size[-1 - a]: x along W, y along H, z along D
        axes = []  # per grid coordinate: [(integer coordinate, weight, ∂weight/∂i)], and ∂i/∂(normalised)
        scales = []
        for a in range(k):
            i, scale = _unnormalize(grid[..., a], extents[a], align_corners)
            if mode != "bicubic":  # the point itself clipped / mirrored; bicubic does it per tap, as PyTorch
                i, g = _pad_coordinates(xp, i, extents[a], padding_mode, align_corners)
                scale = scale * g
            else:
                scale = xp.full_like(i, scale)
            if mode == "nearest":
                taps = [(xp.rint(i), xp.ones_like(i), xp.zeros_like(i))]
            elif mode == "bilinear":
                i0 = xp.floor(i)
                t = i - i0
                taps = [(i0, 1 - t, -xp.ones_like(t)), (i0 + 1, t, xp.ones_like(t))]
            else:
                i0 = xp.floor(i)
                w, slope = _cubic_weights(i - i0)
                taps = [(i0 + j - 1, w[j], slope[j]) for j in range(4)]
            if mode == "bicubic" and padding_mode != "zeros":
                taps = [(_pad_coordinates(xp, c, extents[a], padding_mode, align_corners)[0], w, sl)
                        for c, w, sl in taps]
            axes.append(taps)
            scales.append(scale)
        sample = xp.arange(N)[:, None]
        out = []
        for combo in itertools.product(*axes):  # one tap per axis
            inside, flat = None, sample
            for a in range(k - 1, -1, -1):  # row-major over (n, [z,] y, x): the last grid coordinate is the slowest
                c = combo[a][0]
                ok = (c >= 0) & (c <= extents[a] - 1)
                inside = ok if inside is None else inside & ok
                flat = flat * extents[a] + xp.clip(c, 0, extents[a] - 1).astype("int64")
            mask = inside.astype(grid.dtype)
            weights = [combo[a][1] for a in range(k)]
            weight = mask
            for w in weights:
                weight = weight * w
            derivatives = []
            for a in range(k):
                d = combo[a][2] * mask * scales[a]
                for b in range(k):
                    if b != a:
                        d = d * weights[b]
                derivatives.append(d.reshape(-1))
            out.append((flat.reshape(-1), weight.reshape(-1), tuple(derivatives)))
        return out

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        need_x, need_grid = self.needs_input_grad[:2]
        x_shape, grid_shape = self.shapes
        N, C = x_shape[:2]
        k = len(x_shape) - 2
        order = (0,) + tuple(range(2, 2 + k)) + (1,)
        g = xp.ascontiguousarray(grad.transpose(order)).reshape(-1, C)  # (N·P, C), rows as the output's
        grad_x = grad_grid = None
        if need_x:  # scatter-add w·g onto the pixels each tap read: one bincount over (pixel, channel) bins
            channel = xp.arange(C)
            total = xp.zeros(self.rows.shape[0] * C, dtype=g.dtype)
            for index, weight, _ in self.taps:
                bins = (index[:, None] * C + channel).reshape(-1)
                total += xp.bincount(bins, weights=(g * weight[:, None]).reshape(-1), minlength=total.size)
            cl_shape = (N,) + tuple(x_shape[2:]) + (C,)
            grad_x = total.astype(g.dtype, copy=False).reshape(cl_shape).transpose((0, k + 1) + tuple(range(1, k + 1)))
        if need_grid:  # Σ_c g · Σ_taps (∂w/∂x, ∂w/∂y[, ∂w/∂z]) · v
            parts = [xp.zeros(g.shape[0], dtype=g.dtype) for _ in range(k)]
            for index, _, derivatives in self.taps:
                seen = xp.einsum("pc,pc->p", g, self.rows[index])
                for a in range(k):
                    parts[a] += seen * derivatives[a]
            grad_grid = xp.stack(parts, axis=-1).reshape(grid_shape)
        return grad_x, grad_grid


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners: Any = None) -> Tensor:
    """The input (N, C, H_in, W_in) read at the grid's points (N, H_out, W_out, 2) → (N, C, H_out, W_out); or a
    volume (N, C, D, H, W) at (N, D_out, H_out, W_out, 3) (trilinear or nearest) → (N, C, D_out, H_out, W_out).

    ``mode``: 'bilinear' (default), 'nearest' or 'bicubic'; ``padding_mode``: 'zeros' (default), 'border' or
    'reflection'; ``align_corners`` as :func:`affine_grid`. Formulas and gradients: the module docstring.
    """
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in _PADDING:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _default_align_corners(align_corners, "grid_sample")
    if not isinstance(input, Tensor) or not isinstance(grid, Tensor):
        raise TypeError("grid_sample(): input and grid must be Tensors")
    if input.ndim == 5:
        if grid.ndim != 5 or grid.shape[-1] != 3:
            raise RuntimeError(f"grid_sampler(): expected 5D input (N, C, D, H, W) and a grid of shape (N, D_out, "
                               f"H_out, W_out, 3), but got input with sizes {tuple(input.shape)} and grid with sizes "
                               f"{tuple(grid.shape)}")
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    elif input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected 4D input (N, C, H, W) and a grid of shape (N, H_out, W_out, 2), "
                           f"but got input with sizes {tuple(input.shape)} and grid with sizes {tuple(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {tuple(input.shape)} and grid with sizes {tuple(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have the same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    if not input.is_floating_point():
        raise RuntimeError(f"grid_sampler(): expected a floating-point input, got {input.dtype}")
    if min(input.shape[2:]) <= 0:
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                           f"sizes {tuple(input.shape)}")
    return GridSampleFunction.apply(input, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
