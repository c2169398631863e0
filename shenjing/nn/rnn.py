"""Recurrent layers: RNN, LSTM and GRU (and their one-step cells), trained by backpropagation through time.

A recurrent layer applies the same cell at every time step t = 1 … T, carrying a state forward:

    h_t = cell(x_t, h_{t-1})                         (LSTM also carries a cell state c_t)

Each layer and direction is **one** graph node (:class:`RNNTanhFunction`, :class:`LSTMFunction`,
:class:`GRUFunction`), not one per time step. For RNN and GRU the input projection for all steps is a single
matrix product (``linear(x, W_ih, b_ih)`` over the (T, N, ·) block, by :class:`~shenjing.nn.linear.LinearFunction`);
:class:`LSTMFunction` does it inside, with its gate scaling folded into the weights — in its common case (no mask,
no projection) as part of each step's one product [W_ih, b, W_hh] [x_tᵀ; 1; hᵀ_{t-1}] — and
the Function's backward runs the recurrence backwards once, from t = T down to 1, carrying

    δh_t = ∂L/∂h_t     (from the output at step t, plus what step t + 1 sends back through W_hh)

— backpropagation through time. Gate order and parameter names are PyTorch's (LSTM: i, f, g, o; GRU: r, z, n),
so state dicts load both ways.

Variable-length batches (:class:`~shenjing.nn.utils.rnn.PackedSequence`) run as one padded block with a mask
m_t ∈ {0, 1} per sequence: past its end a sequence *holds* its state, h_t = m_t·h′_t + (1 − m_t)·h_{t-1}, so
the last step holds each sequence's final state and the result equals running each sequence alone.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from . import init
from .dropout import dropout as _dropout
from .linear import linear
from .module import Module, Parameter

__all__ = [
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "RNNTanhFunction", "LSTMFunction", "GRUFunction",
]


def _sigmoid_(xp: Any, a: Any) -> Any:
    """σ(a) = ½ (1 + tanh(a / 2)) in place: one ufunc pass, and it never overflows exp() (σ(−1000) = 0)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class _Recurrence(Function):
    """Shared plumbing: inputs (xw, mask, h0, c0, W_hh, b_hh, W_hr) with xw = x W_ihᵀ + b_ih for all steps."""

    @staticmethod
    def _hold(m: Any, new: Any, old: Any) -> Any:
        return new if m is None else m * new + (1 - m) * old


class RNNTanhFunction(_Recurrence):
    """The Elman recurrence for all T steps of one layer and direction.

    Forward, with xw_t = W_ih x_t + b_ih precomputed for every step:
        z_t = xw_t + W_hh h_{t-1} + b_hh,        h_t = f(z_t),   f = tanh (or ReLU)
    Backward through time, δh_T = ∂L/∂h_T, then for t = T … 1:
        δz_t     = δh_t ⊙ f′(z_t)                 (tanh′ = 1 − h_t², ReLU′ = [z_t > 0])
        δh_{t-1} = W_hhᵀ δz_t  (+ ∂L/∂h_{t-1} from the output at t − 1)
        ∂L/∂W_hh = Σ_t δz_t h_{t-1}ᵀ,  ∂L/∂b_hh = Σ_t δz_t,  ∂L/∂xw_t = δz_t  (the linear below gives ∂L/∂W_ih)
    Output: the stacked states h_1 … h_T, shape (T, N, H).
    """

    def forward(self, xw: Any, mask: Any, h0: Any, W_hh: Any, b_hh: Any, relu: bool = False) -> Any:
        xp = self.xp
        T, N, H = xw.shape
        hs = xp.empty((T + 1, N, H), dtype=xw.dtype)  # hs[t + 1] = h_t, hs[0] = h_0
        new = xp.empty((T, N, H), dtype=xw.dtype)  # f(z_t) before the mask holds finished sequences
        hs[0] = h0
        for t in range(T):
            z = xw[t] + hs[t] @ W_hh.T
            if b_hh is not None:
                z += b_hh
            new[t] = xp.maximum(z, 0) if relu else xp.tanh(z)
            hs[t + 1] = self._hold(None if mask is None else mask[t], new[t], hs[t])
        self.hs, self.new, self.mask, self.W_hh, self.relu = hs, new, mask, W_hh, relu
        return hs[1:]

    def backward(self, grad: Any) -> tuple:
        xp, hs, new, mask, W_hh = self.xp, self.hs, self.new, self.mask, self.W_hh
        T, N, H = grad.shape
        dz = xp.empty_like(grad)
        dh = xp.zeros((N, H), dtype=grad.dtype)
        for t in range(T - 1, -1, -1):
            dh = dh + grad[t]
            m = None if mask is None else mask[t]
            dnew = dh if m is None else m * dh
            dz[t] = dnew * (new[t] > 0) if self.relu else dnew * (1 - new[t] * new[t])
            dh = dz[t] @ W_hh if m is None else dz[t] @ W_hh + (1 - m) * dh
        flat = dz.reshape(-1, H)
        need = self.needs_input_grad
        dW = flat.T @ hs[:-1].reshape(-1, H) if need[3] else None
        db = flat.sum(0) if need[4] else None
        return dz, None, dh, dW, db


class LSTMFunction(_Recurrence):
    """The LSTM recurrence for all T steps of one layer and direction (gates i, f, g, o as PyTorch).

    Forward, the input projection of all steps first as one matrix product, xw = x W_ihᵀ + b_ih (T·N rows):
        [a_i, a_f, a_g, a_o] = xw_t + W_hh h_{t-1} + b_hh
        i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
        c_t = f ⊙ c_{t-1} + i ⊙ g,        h_t = o ⊙ tanh(c_t)      (with proj_size: h_t = W_hr (o ⊙ tanh(c_t)))
    (computed as σ(a) = ½ (1 + tanh(a/2)): the i, f, o rows of the weights and biases are halved once per call, so
    one tanh pass over the block of a step activates all four gates. Without a mask or a projection — the common
    case — the recurrence runs transposed, feature-major, every gate a contiguous (H, N) block, and the input
    projection, both biases and the recurrent product are one product per step:
        aᵀ_t = [W_ih, b_ih + b_hh, W_hh] [x_tᵀ; 1; hᵀ_{t-1}]
    with ∂L/∂[W_ih, b, W_hh] = Σ_t δaᵀ_t [x_t, 1, h_{t-1}] in backward: one product per step from 64 sequences
    on, one product over all T·N columns after the loop below that.)
    Backward through time, for t = T … 1 (δh_t, δc_t include what step t + 1 sent back):
        δo = δh_t ⊙ tanh(c_t)                      δa_o = δo ⊙ o (1 − o)
        δc_t += δh_t ⊙ o ⊙ (1 − tanh²(c_t))
        δi = δc_t ⊙ g      δa_i = δi ⊙ i (1 − i)
        δf = δc_t ⊙ c_{t-1} δa_f = δf ⊙ f (1 − f)
        δg = δc_t ⊙ i      δa_g = δg ⊙ (1 − g²)
        δc_{t-1} = δc_t ⊙ f,       δh_{t-1} = W_hhᵀ δa
        ∂L/∂W_hh = Σ_t δa_t h_{t-1}ᵀ,  ∂L/∂W_ih = Σ_t δa_t x_tᵀ,  ∂L/∂b_hh = ∂L/∂b_ih = Σ_t δa_t,  ∂L/∂x_t = W_ihᵀ δa_t
    Inputs: x (T, N, I), mask (T, N, 1) or None, h_0 (N, P), c_0 (N, H), W_ih, b_ih, W_hh, b_hh, W_hr (or None).
    Output: [h_t, c_t] side by side for every step, shape (T, N, P + H) (P = proj_size or H); the layer slices it.
    """

    def forward(self, x: Any, mask: Any, h0: Any, c0: Any, W_ih: Any, b_ih: Any, W_hh: Any, b_hh: Any,
                W_hr: Any) -> Any:
        self.feature_major = mask is None and W_hr is None
        if self.feature_major:  # the common case: no mask, no projection
            return self._forward_feature_major(x, h0, c0, W_ih, b_ih, W_hh, b_hh)
        xp = self.xp
        T, N, I = x.shape
        G = W_hh.shape[0]
        H, P = G // 4, h0.shape[-1]
        dtype = x.dtype
        # NOTE: σ(a) = ½ (1 + tanh(a / 2)). With the i, f, o rows of W_ih, W_hh and the biases halved (once per
        # call, on the small weight matrices), one tanh pass activates all four gates of a step, and i, f, o
        # then take ½ (1 + ·). tanh never overflows, so σ(−1000) = 0 exactly as PyTorch's.
        half = xp.full(G, 0.5, dtype=dtype)
        half[2 * H : 3 * H] = 1
        offset = half.copy()
        offset[2 * H : 3 * H] = 0  # σ = ½ tanh + ½ on the i, f, o columns, g = tanh: gates = half ⊙ tanh + offset
        pre = (x.reshape(T * N, I) @ (W_ih.T * half)).reshape(T, N, G)  # ½-scaled xw for all steps: one product
        if b_ih is not None:
            pre += (b_ih + b_hh) * half
        W_t = W_hh.T * half  # (P, 4H)
        # [h_t, c_t] side by side in one buffer, states[0] = [h_0, c_0]: the output is a view, no copy at the end
        states = xp.empty((T + 1, N, P + H), dtype=dtype)
        hs, cs = states[..., :P], states[..., P:]
        hs[0], cs[0] = h0, c0
        gates = xp.empty((T, N, G), dtype=dtype)  # activated i, f, g, o
        tanh_c = xp.empty((T, N, H), dtype=dtype)
        r = xp.empty((T, N, H), dtype=dtype) if W_hr is not None else None  # o ⊙ tanh(c_t) before W_hr
        for t in range(T):
            gi = gates[t]
            xp.matmul(hs[t], W_t, out=gi)
            gi += pre[t]
            xp.tanh(gi, out=gi)
            gi *= half  # i, f and o: σ = ½ (1 + tanh(a / 2)); two contiguous passes, not four strided ones
            gi += offset
            i, f, g, o = gi[:, :H], gi[:, H : 2 * H], gi[:, 2 * H : 3 * H], gi[:, 3 * H :]
            c = f * cs[t] + i * g
            tanh_c[t] = xp.tanh(c)
            h = o * tanh_c[t]
            if W_hr is not None:
                r[t] = h
                h = h @ W_hr.T
            m = None if mask is None else mask[t]
            hs[t + 1] = self._hold(m, h, hs[t])
            cs[t + 1] = self._hold(m, c, cs[t])
        self.saved = (x, states, gates, tanh_c, r, mask, W_ih, W_hh, W_hr)
        return states[1:]

    def backward(self, grad: Any) -> tuple:
        if self.feature_major:
            return self._backward_feature_major(grad)
        xp = self.xp
        x, states, gates, tanh_c, r, mask, W_ih, W_hh, W_hr = self.saved
        T, N, G = gates.shape
        H = G // 4
        P = states.shape[-1] - H
        I = x.shape[-1]
        hs, cs = states[..., :P], states[..., P:]
        need = self.needs_input_grad
        da = xp.empty((T, N, G), dtype=grad.dtype)
        dnew_h = xp.empty((T, N, P), dtype=grad.dtype) if W_hr is not None else None
        dh = xp.zeros((N, P), dtype=grad.dtype)
        dc = xp.zeros((N, H), dtype=grad.dtype)
        i, f, g, o = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H : 3 * H], gates[..., 3 * H :]
        # NOTE: the factors that do not depend on δ are computed for all steps at once, outside the loop, in
        # place: ∂h/∂c = o ⊙ (1 − tanh²c), and each gate's derivative times what multiplies it:
        # δa = [δc ⊙ g i(1 − i), δc ⊙ c_{t-1} f(1 − f), δc ⊙ i (1 − g²), δh ⊙ tanh(c) o(1 − o)]
        dh_dc = xp.multiply(tanh_c, tanh_c)
        xp.subtract(1, dh_dc, out=dh_dc)
        dh_dc *= o
        factors = xp.multiply(gates, gates)
        xp.subtract(gates, factors, out=factors)  # σ(1 − σ) for i, f, o
        dg = factors[..., 2 * H : 3 * H]
        xp.multiply(g, g, out=dg)
        xp.subtract(1, dg, out=dg)  # 1 − g²
        factors[..., :H] *= g
        factors[..., H : 2 * H] *= cs[:-1]
        dg *= i
        factors[..., 3 * H :] *= tanh_c
        for t in range(T - 1, -1, -1):  # a mask (packed sequences) or a projection: the general form
            dh = dh + grad[t, :, :P]
            dc = dc + grad[t, :, P:]
            m = None if mask is None else mask[t]
            dhn, dcn = (dh, dc) if m is None else (m * dh, m * dc)
            if W_hr is not None:
                dnew_h[t] = dhn
                dhn = dhn @ W_hr
            dcn = dcn + dhn * dh_dc[t]
            d = da[t]
            xp.multiply(factors[t, :, : 3 * H].reshape(N, 3, H), dcn[:, None, :], out=d[:, : 3 * H].reshape(N, 3, H))
            xp.multiply(factors[t, :, 3 * H :], dhn, out=d[:, 3 * H :])
            if m is None:
                dc = dcn * f[t]
                dh = d @ W_hh
            else:
                dc = dcn * f[t] + (1 - m) * dc
                dh = d @ W_hh + (1 - m) * dh
        flat = da.reshape(T * N, G)
        dx = (flat @ W_ih).reshape(T, N, I) if need[0] else None
        dW_ih = flat.T @ x.reshape(T * N, I) if need[4] else None
        dW_hh = flat.T @ hs[:-1].reshape(T * N, P) if need[6] else None
        db = flat.sum(0) if need[5] or need[7] else None
        db_ih = db if need[5] else None
        db_hh = (db.copy() if need[5] else db) if need[7] else None  # two parameters: never one shared array
        dW_hr = dnew_h.reshape(T * N, P).T @ r.reshape(T * N, H) if W_hr is not None and need[8] else None
        dh0 = dh if need[2] else None
        dc0 = dc if need[3] else None
        return dx, None, dh0, dc0, dW_ih, db_ih, dW_hh, db_hh, dW_hr

    # ---- the common case (no mask, no projection), feature-major --------------------------------------------
    # NOTE: the states and gates are kept transposed, hᵀ_t and cᵀ_t (H, N), the gates (4H, N): each gate is then
    # one contiguous (H, N) block, and every element-wise pass of a step runs over contiguous memory (a strided
    # (N, H) column block of an (N, 4H) array costs ~3× as much per element in NumPy). One buffer holds, per
    # step, z_t = [x_tᵀ; 1; hᵀ_{t-1}; cᵀ_{t-1}]: the input projection, both biases and the recurrent product are
    # then one product per step, aᵀ_t = [W_ih, b_ih + b_hh, W_hh] [x_tᵀ; 1; hᵀ_{t-1}], and in backward one product
    # per step gives ∂L/∂W_ih, ∂L/∂b and ∂L/∂W_hh together: Σ_t δaᵀ_t [x_t, 1, h_{t-1}].
    def _forward_feature_major(self, x: Any, h0: Any, c0: Any, W_ih: Any, b_ih: Any, W_hh: Any, b_hh: Any) -> Any:
        xp = self.xp
        T, N, I = x.shape
        G, H = W_hh.shape
        nb = 0 if b_ih is None else 1
        K = I + nb + H  # rows of z_t that enter the product: x_t, 1, h_{t-1}
        half = xp.full((G, 1), 0.5, dtype=x.dtype)  # σ(a) = ½ (1 + tanh(a / 2)): i, f, o rows halved, g's not
        half[2 * H : 3 * H] = 1
        W = xp.concatenate([W_ih, (b_ih + b_hh)[:, None], W_hh] if nb else [W_ih, W_hh], axis=1)
        W *= half  # (4H, K), the gates' ½ folded in once per call
        z = xp.empty((T + 1, K + H, N), dtype=x.dtype)
        z[:T, :I] = x.transpose(0, 2, 1)
        z[T, :I] = 0  # never read: the last state has no next input
        if nb:
            z[:, I] = 1
        z[0, I + nb : K] = h0.T
        z[0, K:] = c0.T
        gates = xp.empty((T, G, N), dtype=x.dtype)  # activated i, f, g, o
        tanh_c = xp.empty((T, H, N), dtype=x.dtype)
        ig = xp.empty_like(tanh_c[0])
        for t in range(T):
            gi, c, new = gates[t], z[t, K:], z[t + 1, I + nb :]  # new = [hᵀ_t; cᵀ_t]
            xp.matmul(W, z[t, :K], out=gi)
            xp.tanh(gi, out=gi)
            ifo = gi[: 2 * H]  # i, f: σ = ½ tanh + ½
            ifo *= 0.5
            ifo += 0.5
            ifo = gi[3 * H :]  # o
            ifo *= 0.5
            ifo += 0.5
            xp.multiply(gi[H : 2 * H], c, out=new[H:])  # c_t = f ⊙ c_{t-1} + i ⊙ g
            new[H:] += xp.multiply(gi[:H], gi[2 * H : 3 * H], out=ig)
            xp.tanh(new[H:], out=tanh_c[t])
            xp.multiply(gi[3 * H :], tanh_c[t], out=new[:H])  # h_t = o ⊙ tanh(c_t)
        self.saved = (z, gates, tanh_c, W_ih, W_hh, nb)
        return z[1:, I + nb :].transpose(0, 2, 1)  # (T, N, 2H): [h_t, c_t] side by side, a view

    def _backward_feature_major(self, grad: Any) -> tuple:
        xp = self.xp
        z, gates, tanh_c, W_ih, W_hh, nb = self.saved
        T, G, N = gates.shape
        H, I = G // 4, W_ih.shape[1]
        K = I + nb + H
        need = self.needs_input_grad
        da = xp.empty_like(gates)  # δaᵀ_t (4H, N)
        dh = xp.zeros((H, N), dtype=grad.dtype)  # δhᵀ
        dc = xp.zeros((H, N), dtype=grad.dtype)  # δcᵀ
        s1 = xp.empty((H, N), dtype=grad.dtype)
        want_dW = need[4] or need[5] or need[6] or need[7]
        # NOTE: ∂L/∂[W_ih, b, W_hh] is summed step by step (δa_t still in cache) for batches of 64 and more; for
        # smaller ones a (4H, K)·(K, N) product per step is too thin for the BLAS, and one product over all T·N
        # columns after the loop is faster despite its two copies (measured: N = 32, 84 vs 54 ms; N = 128, 10 vs 12).
        per_step = want_dW and N >= 64
        dW = xp.zeros((G, K), dtype=grad.dtype) if per_step else None
        sW = xp.empty((G, K), dtype=grad.dtype) if per_step else None
        first = 0 if need[2] or need[3] else 1  # δh_0, δc_0 only when h_0 or c_0 wants them
        for t in range(T - 1, -1, -1):
            gt, d, tc, c_prev = gates[t], da[t], tanh_c[t], z[t, K:]
            i, f, g, o = gt[:H], gt[H : 2 * H], gt[2 * H : 3 * H], gt[3 * H :]
            dh += grad[t, :, :H].T
            dc += grad[t, :, H:].T
            do = d[3 * H :]  # δa_o = δh ⊙ tanh(c_t) ⊙ o(1 − o)
            xp.multiply(dh, tc, out=do)
            xp.multiply(o, o, out=s1)
            xp.subtract(o, s1, out=s1)
            do *= s1
            xp.multiply(tc, tc, out=s1)  # δc_t += δh ⊙ o ⊙ (1 − tanh²(c_t))
            xp.subtract(1, s1, out=s1)
            s1 *= o
            s1 *= dh
            dc += s1
            # δa_i = δc ⊙ g ⊙ i(1 − i),  δa_f = δc ⊙ c_{t-1} ⊙ f(1 − f),  δa_g = δc ⊙ i ⊙ (1 − g²): the i, f, g
            # blocks are adjacent, so the squares and the final ⊙ δc are one pass each over the (3H, N) block
            ifg = d[: 3 * H]
            xp.multiply(gt[: 3 * H], gt[: 3 * H], out=ifg)
            xp.subtract(gt[: 2 * H], ifg[: 2 * H], out=ifg[: 2 * H])
            xp.subtract(1, ifg[2 * H :], out=ifg[2 * H :])
            ifg[:H] *= g
            ifg[H : 2 * H] *= c_prev
            ifg[2 * H :] *= i
            by_gate = ifg.reshape(3, H, N)  # a view: the block is contiguous
            xp.multiply(by_gate, dc, out=by_gate)
            if per_step:  # [∂L/∂W_ih, ∂L/∂b, ∂L/∂W_hh] += δaᵀ_t [x_t, 1, h_{t-1}]
                dW += xp.matmul(d, z[t, :K].T, out=sW)
            if t >= first:
                dc *= f  # δc_{t-1} = δc_t ⊙ f
                xp.matmul(W_hh.T, d, out=dh)  # δh_{t-1} = W_hhᵀ δa_t
        dx = xp.matmul(da.transpose(0, 2, 1), W_ih) if need[0] else None  # (T, N, I): δx_t = W_ihᵀ δa_t
        if want_dW and not per_step:  # Σ_t δaᵀ_t [x_t, 1, h_{t-1}] as one product over the T·N columns
            dW = xp.matmul(da.transpose(1, 0, 2).reshape(G, T * N), z[:T, :K].transpose(0, 2, 1).reshape(T * N, K))
        dW_ih = xp.ascontiguousarray(dW[:, :I]) if need[4] else None
        db_ih = dW[:, I].copy() if need[5] else None  # two parameters: never one shared array
        db_hh = dW[:, I].copy() if need[7] else None
        dW_hh = xp.ascontiguousarray(dW[:, I + nb :]) if need[6] else None
        dh0 = dh.T if need[2] else None
        dc0 = dc.T if need[3] else None
        return dx, None, dh0, dc0, dW_ih, db_ih, dW_hh, db_hh, None


class GRUFunction(_Recurrence):
    """The GRU recurrence for all T steps of one layer and direction (gates r, z, n as PyTorch).

    Forward, with [xw_r, xw_z, xw_n] = W_ih x_t + b_ih precomputed and [u_r, u_z, u_n] = W_hh h_{t-1} + b_hh:
        r = σ(xw_r + u_r),  z = σ(xw_z + u_z),  n = tanh(xw_n + r ⊙ u_n)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    Backward through time, for t = T … 1:
        δn = δh_t ⊙ (1 − z)           δa_n = δn ⊙ (1 − n²)        (∂L/∂xw_n = δa_n, ∂L/∂u_n = δa_n ⊙ r)
        δz = δh_t ⊙ (h_{t-1} − n)     δa_z = δz ⊙ z (1 − z)
        δr = δa_n ⊙ u_n              δa_r = δr ⊙ r (1 − r)
        δh_{t-1} = W_hhᵀ [δa_r, δa_z, δa_n ⊙ r] + δh_t ⊙ z
        ∂L/∂W_hh = Σ_t [δa_r, δa_z, δa_n ⊙ r]_t h_{t-1}ᵀ, ∂L/∂b_hh = Σ_t [δa_r, δa_z, δa_n ⊙ r]_t
    Output: the stacked states h_1 … h_T, shape (T, N, H).
    """

    def forward(self, xw: Any, mask: Any, h0: Any, W_hh: Any, b_hh: Any) -> Any:
        xp = self.xp
        T, N, G = xw.shape
        H = G // 3
        hs = xp.empty((T + 1, N, H), dtype=xw.dtype)
        rzn = xp.empty((T, N, G), dtype=xw.dtype)  # activated r, z, n
        un = xp.empty((T, N, H), dtype=xw.dtype)  # W_hn h_{t-1} + b_hn
        hs[0] = h0
        if mask is None:  # the common case, in place: no temporaries in the loop
            self._forward_in_place(xw, W_hh, b_hh, hs, rzn, un)
        else:  # a mask (packed sequences): the general form
            for t in range(T):
                u = hs[t] @ W_hh.T
                if b_hh is not None:
                    u += b_hh
                g = rzn[t]
                xp.add(xw[t, :, : 2 * H], u[:, : 2 * H], out=g[:, : 2 * H])
                _sigmoid_(xp, g[:, : 2 * H])
                un[t] = u[:, 2 * H :]
                g[:, 2 * H :] = xp.tanh(xw[t, :, 2 * H :] + g[:, :H] * un[t])
                z, n = g[:, H : 2 * H], g[:, 2 * H :]
                h = n + z * (hs[t] - n)
                hs[t + 1] = self._hold(mask[t], h, hs[t])
        self.saved = (hs, rzn, un, mask, W_hh)
        return hs[1:]

    def _forward_in_place(self, xw: Any, W_hh: Any, b_hh: Any, hs: Any, rzn: Any, un: Any) -> None:
        """The forward's loop without a mask, every result written into its buffer (same formulas)."""
        xp = self.xp
        T, N, G = xw.shape
        H = G // 3
        W_t = xp.ascontiguousarray(W_hh.T)  # (H, 3H)
        u = xp.empty((N, G), dtype=xw.dtype)
        for t in range(T):
            xp.matmul(hs[t], W_t, out=u)  # u = W_hh h_{t-1} (+ b_hh)
            if b_hh is not None:
                u += b_hh
            g = rzn[t]
            rz, n = g[:, : 2 * H], g[:, 2 * H :]
            xp.add(xw[t, :, : 2 * H], u[:, : 2 * H], out=rz)
            _sigmoid_(xp, rz)  # r, z
            un[t] = u[:, 2 * H :]
            xp.multiply(g[:, :H], un[t], out=n)
            n += xw[t, :, 2 * H :]
            xp.tanh(n, out=n)  # n = tanh(xw_n + r ⊙ u_n)
            h = hs[t + 1]
            xp.subtract(hs[t], n, out=h)
            h *= g[:, H : 2 * H]
            h += n  # h_t = n + z ⊙ (h_{t-1} − n)

    def _backward_in_place(self, grad: Any, dxw: Any, du: Any) -> Any:
        """The backward's loop without a mask, in place (same formulas); returns δh_0."""
        xp = self.xp
        hs, rzn, un, _, W_hh = self.saved
        T, N, G = rzn.shape
        H = G // 3
        dh = xp.zeros((N, H), dtype=grad.dtype)
        tmp = xp.empty((N, H), dtype=grad.dtype)
        for t in range(T - 1, -1, -1):
            dh += grad[t]
            g = rzn[t]
            r, z, n = g[:, :H], g[:, H : 2 * H], g[:, 2 * H :]
            dan = dxw[t, :, 2 * H :]
            xp.multiply(n, n, out=dan)
            xp.subtract(1, dan, out=dan)
            xp.subtract(1, z, out=tmp)
            dan *= tmp
            dan *= dh  # δa_n = δh ⊙ (1 − z) ⊙ (1 − n²)
            xp.multiply(dan, r, out=du[t, :, 2 * H :])
            dar = dxw[t, :, :H]
            xp.multiply(dan, un[t], out=dar)
            xp.subtract(1, r, out=tmp)
            dar *= tmp
            dar *= r  # δa_r = δa_n ⊙ u_n ⊙ r (1 − r)
            du[t, :, :H] = dar
            daz = dxw[t, :, H : 2 * H]
            xp.subtract(hs[t], n, out=daz)
            daz *= dh
            xp.subtract(1, z, out=tmp)
            daz *= tmp
            daz *= z  # δa_z = δh ⊙ (h_{t-1} − n) ⊙ z (1 − z)
            du[t, :, H : 2 * H] = daz
            xp.multiply(dh, z, out=tmp)
            xp.matmul(du[t], W_hh, out=dh)
            dh += tmp  # δh_{t-1} = W_hhᵀ [δa_r, δa_z, δa_n ⊙ r] + δh_t ⊙ z
        return dh

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        hs, rzn, un, mask, W_hh = self.saved
        T, N, G = rzn.shape
        H = G // 3
        dxw = xp.empty((T, N, G), dtype=grad.dtype)
        du = xp.empty((T, N, G), dtype=grad.dtype)
        if mask is None:  # the common case, in place
            dh = self._backward_in_place(grad, dxw, du)
        else:  # a mask (packed sequences): the general form
            dh = xp.zeros((N, H), dtype=grad.dtype)
            for t in range(T - 1, -1, -1):
                dh = dh + grad[t]
                m = mask[t]
                dhn = m * dh
                g = rzn[t]
                r, z, n = g[:, :H], g[:, H : 2 * H], g[:, 2 * H :]
                dan = dhn * (1 - z) * (1 - n * n)
                dxw[t, :, 2 * H :] = dan
                du[t, :, 2 * H :] = dan * r
                dxw[t, :, :H] = du[t, :, :H] = dan * un[t] * r * (1 - r)
                dxw[t, :, H : 2 * H] = du[t, :, H : 2 * H] = dhn * (hs[t] - n) * z * (1 - z)
                dprev = du[t] @ W_hh + dhn * z
                dh = dprev + (1 - m) * dh
        need = self.needs_input_grad
        flat = du.reshape(-1, G)
        dW_hh = flat.T @ hs[:-1].reshape(-1, H) if need[3] else None
        db_hh = flat.sum(0) if need[4] else None
        return dxw, None, dh, dW_hh, db_hh


def _reverse_in_time(x: Tensor, lengths: Any) -> Tensor:
    """Each sequence of the (T, N, …) block reversed within its own length (padding stays at the end)."""
    if lengths is None:
        return x.flip(0)
    xp = get_backend(x.device).xp
    T, N = x.shape[0], x.shape[1]
    t = xp.arange(T)[:, None]
    L = xp.asarray(lengths)[None, :]
    rows = xp.where(t < L, L - 1 - t, t)  # (T, N): an involution, so it also reverses back
    return x[rows, xp.arange(N)[None, :]]


class RNNBase(Module):
    """The stack shared by RNN, LSTM and GRU: ``num_layers`` layers × 1 or 2 directions, PyTorch's parameters.

    Parameters of layer k (suffix ``_reverse`` for the backward direction), as PyTorch:
        weight_ih_l{k} (G·H, input_size for k = 0 else D·H_out), weight_hh_l{k} (G·H, H_out),
        bias_ih_l{k}, bias_hh_l{k} (G·H,), weight_hr_l{k} (proj_size, H) for an LSTM with proj_size > 0,
    where G = 1 (RNN), 4 (LSTM), 3 (GRU), D = 2 if bidirectional else 1, H_out = proj_size or hidden_size.
    Initialisation: every parameter from U(±1/√hidden_size), PyTorch's default.
    """

    _gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        for key, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers),
                           ("proj_size", proj_size)):
            if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
                raise TypeError(f"{name}: {key} should be of type int, got: {type(value).__name__}")
        input_size, hidden_size, num_layers, proj_size = (int(v) for v in (input_size, hidden_size, num_layers,
                                                                            proj_size))
        if hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be greater than zero, got {num_layers}")
        if input_size < 0:
            raise ValueError(f"{name}: input_size must be non-negative, got {input_size}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout!r}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size}, "
                             f"hidden_size={hidden_size}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), proj_size
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        gate_size = self._gates[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for stem, shape in shapes:
                    setattr(self, stem + suffix, Parameter(xp.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(stem + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -stdv, stdv)

    @property
    def all_weights(self) -> list:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch programs (cuDNN's weight packing); nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def get_config(self) -> dict:
        config = {"input_size": self.input_size, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                  "bias": self.bias, "batch_first": self.batch_first, "dropout": self.dropout,
                  "bidirectional": self.bidirectional}
        if self.mode in ("RNN_TANH", "RNN_RELU"):
            config["nonlinearity"] = "relu" if self.mode == "RNN_RELU" else "tanh"
        if self.mode == "LSTM":
            config["proj_size"] = self.proj_size
        return config

    # -- forward -----------------------------------------------------------------------------------------------

    def _check_input(self, x: Any) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a shenjing.Tensor or PackedSequence, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            raise ValueError(f"{self!r}: expected input to be 2D (L, H_in) or 3D ((L, N, H_in) or with "
                             f"batch_first (N, L, H_in)), got {x.ndim}D of shape {tuple(x.shape)}")
        if x.shape[1 if self.batch_first and x.ndim == 3 else 0] == 0:
            raise RuntimeError(f"{self!r}: expected sequence length to be larger than 0 (input shape {tuple(x.shape)}"
                               f"{', batch_first' if self.batch_first else ''})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{self!r}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]} (input shape {tuple(x.shape)})")
        if x.array.dtype != self.weight_ih_l0.array.dtype:
            raise RuntimeError(f"{self!r}: input dtype {x.dtype} does not match the weights' "
                               f"{self.weight_ih_l0.dtype}; convert one with .to(dtype)")

    def _check_state(self, h: Any, shape: tuple, what: str) -> None:
        if not isinstance(h, Tensor):
            raise TypeError(f"{self!r}: {what} must be a shenjing.Tensor, got {type(h).__name__}")
        if tuple(h.shape) != shape:
            raise RuntimeError(f"{self!r}: Expected {what} size {shape}, got {list(h.shape)}")

    def forward(self, input: Any, hx: Any = None) -> Any:  # noqa: A002 - PyTorch's name
        from .utils.rnn import PackedSequence, _pack_from_padded, _padded_from_packed

        packed = isinstance(input, PackedSequence)
        lengths = sorted_indices = unsorted_indices = None
        if packed:
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            x, lengths = _padded_from_packed(input)  # (T, N, I) in sorted order
            self._check_input(x)
            batched = True
        else:
            self._check_input(input)
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
        T, N = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        P, H = self.proj_size or self.hidden_size, self.hidden_size
        is_lstm = self.mode == "LSTM"
        if is_lstm and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{self!r}: hx must be a tuple (h_0, c_0) for an LSTM, got {type(hx).__name__}")
        h0, c0 = (hx if hx is not None else (None, None)) if is_lstm else (hx, None)
        states = []
        for state, size, what in ((h0, P, "hidden"), (c0, H, "cell")):
            shape = (self.num_layers * directions, N, size)
            if state is None:
                if what == "cell" and not is_lstm:
                    states.append(None)
                    continue
                xp = get_backend(x.device).xp
                state = Tensor._wrap(xp.zeros(shape, dtype=x.array.dtype))
            else:
                if not batched:
                    if state.ndim != 2:
                        raise RuntimeError(f"{self!r}: for unbatched 2-D input, {what} state should also be "
                                           f"2-D but got {state.ndim}-D tensor")
                    state = state.unsqueeze(1)
                self._check_state(state, shape, what)
                if sorted_indices is not None:
                    state = state[:, sorted_indices.array]
            states.append(state)
        h0, c0 = states
        mask = None
        if lengths is not None:
            xp = get_backend(x.device).xp
            mask = (xp.arange(T)[:, None] < xp.asarray(lengths)[None, :]).astype(x.array.dtype)[..., None]
        layer_input = x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                w = lambda stem: getattr(self, stem + suffix, None)  # noqa: E731
                if is_lstm:  # the input projection inside, as one product with the gates' scaling folded in
                    xs = _reverse_in_time(layer_input, lengths) if direction else layer_input
                    out = LSTMFunction.apply(xs, mask, h0[k], c0[k], w("weight_ih"), w("bias_ih"), w("weight_hh"),
                                             w("bias_hh"), w("weight_hr"))
                    hs = out[..., :P]
                    c_n.append(out[-1, :, P:])
                    h_n.append(hs[-1])
                    outputs.append(_reverse_in_time(hs, lengths) if direction else hs)
                    continue
                xw = linear(layer_input, w("weight_ih"), w("bias_ih"))  # all steps at once: (T, N, G·H)
                if direction:
                    xw = _reverse_in_time(xw, lengths)
                if self.mode == "GRU":
                    hs = GRUFunction.apply(xw, mask, h0[k], w("weight_hh"), w("bias_hh"))
                else:
                    hs = RNNTanhFunction.apply(xw, mask, h0[k], w("weight_hh"), w("bias_hh"),
                                               relu=self.mode == "RNN_RELU")
                h_n.append(hs[-1])
                outputs.append(_reverse_in_time(hs, lengths) if direction else hs)
            layer_input = outputs[0] if directions == 1 else _cat_last(outputs)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        h_n = _stack(h_n)
        c_n = _stack(c_n) if is_lstm else None
        if unsorted_indices is not None:
            h_n = h_n[:, unsorted_indices.array]
            c_n = c_n[:, unsorted_indices.array] if is_lstm else None
        if packed:
            output = _pack_from_padded(layer_input, input)
        else:
            output = layer_input
            if not batched:
                output, h_n = output.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if is_lstm else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)


def _cat_last(tensors: list) -> Tensor:
    from ..functions import cat

    return cat(tensors, -1)


def _stack(tensors: list) -> Tensor:
    from ..functions import stack

    return stack(tensors, 0)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or ReLU), stacked and optionally bidirectional.

    Args: input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0,
    bidirectional=False — as ``torch.nn.RNN``.

    Shape: input (L, N, H_in) (or (N, L, H_in) with batch_first, or unbatched (L, H_in), or a PackedSequence);
    h_0 (D·num_layers, N, H) → output (L, N, D·H), h_n (D·num_layers, N, H).
    The backward pass is :class:`RNNTanhFunction` (backpropagation through time).

    Example:
        >>> rnn = shenjing.nn.RNN(10, 20, 2)
        >>> out, h_n = rnn(shenjing.randn(5, 3, 10))
        >>> tuple(out.shape), tuple(h_n.shape)
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o decide what the cell state c_t forgets, takes in and shows.

        i = σ(W_ii x + b_ii + W_hi h + b_hi)     f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
        c_t = f ⊙ c_{t-1} + i ⊙ g                h_t = o ⊙ tanh(c_t)

    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    proj_size=0 — as ``torch.nn.LSTM``. Returns ``output, (h_n, c_n)``. The backward pass, each gate's
    derivative included, is :class:`LSTMFunction`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit: a reset gate r and an update gate z blend the old state with a candidate n.

        r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

    Args as ``torch.nn.GRU``. The backward pass is :class:`GRUFunction`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# -- cells: one time step ----------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """One step of a recurrent layer, parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (PyTorch's)."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        for key, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name}: {key} should be of type int, got: {type(value).__name__}")
            if value < (1 if key == "hidden_size" else 0):
                raise ValueError(f"{name}: {key} must be positive, got {value}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        G = self._gates * hidden_size
        self.weight_ih = Parameter(xp.empty((G, input_size), dtype=dtype))
        self.weight_hh = Parameter(xp.empty((G, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(xp.empty((G,), dtype=dtype))
            self.bias_hh = Parameter(xp.empty((G,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def get_config(self) -> dict:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}

    def _prepare(self, input: Any, states: list, project: bool = True) -> tuple:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a shenjing.Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{self!r}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self!r}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size} (input shape {tuple(input.shape)})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        out = []
        for h in states:
            if h is None:
                xp = get_backend(x.device).xp
                h = Tensor._wrap(xp.zeros((x.shape[0], self.hidden_size), dtype=x.array.dtype))
            else:
                if not batched:
                    h = h.unsqueeze(0)
                if tuple(h.shape) != (x.shape[0], self.hidden_size):
                    raise RuntimeError(f"{self!r}: Expected hidden size {(x.shape[0], self.hidden_size)}, got "
                                       f"{list(h.shape)}")
            out.append(h)
        if not project:  # the LSTM projects inside its Function
            return batched, x.unsqueeze(0), out
        xw = linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)  # (1, N, G·H)
        return batched, xw, out


class RNNCell(RNNCellBase):
    """h′ = tanh(W_ih x + b_ih + W_hh h + b_hh) (or ReLU), one step; see :class:`RNNTanhFunction`."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        batched, xw, (h,) = self._prepare(input, [hx])
        h = RNNTanhFunction.apply(xw, None, h, self.weight_hh, self.bias_hh, relu=self.nonlinearity == "relu")[0]
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h′, c′); gates and derivatives in :class:`LSTMFunction`."""

    _gates = 4

    def forward(self, input: Tensor, hx: Any = None) -> tuple:  # noqa: A002
        h, c = hx if hx is not None else (None, None)
        batched, x, (h, c) = self._prepare(input, [h, c], project=False)
        out = LSTMFunction.apply(x, None, h, c, self.weight_ih, self.bias_ih, self.weight_hh, self.bias_hh, None)[0]
        H = self.hidden_size
        h, c = out[:, :H], out[:, H:]
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h′ = (1 − z) ⊙ n + z ⊙ h; gates and derivatives in :class:`GRUFunction`."""

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        batched, xw, (h,) = self._prepare(input, [hx])
        h = GRUFunction.apply(xw, None, h, self.weight_hh, self.bias_hh)[0]
        return h if batched else h.squeeze(0)
