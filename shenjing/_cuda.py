"""The GPU backend: CuPy behind the array-module seam, with fused kernels where they pay.

Imported only when a tensor or module is moved to "cuda" (``pip install shenjing[gpu]`` brings CuPy).
"""

from __future__ import annotations

from typing import Any

import numpy

from .backend import Backend, Device

try:
    import cupy
    import cupyx
except ImportError as error:  # pragma: no cover - exercised on machines without CuPy
    raise RuntimeError(
        "shenjing: the 'cuda' device needs CuPy for CUDA. Install it with `pip install shenjing[gpu]` "
        "(cupy-cuda13x) on a machine with an NVIDIA GPU and driver."
    ) from error


class CupyBackend(Backend):
    """CuPy arrays on the current CUDA device. Differences from NumPy are hidden here:

    * scatter-add is ``cupyx.scatter_add`` (NumPy: ``numpy.add.at``);
    * moving to and from the host is ``cupy.asarray`` / ``cupy.asnumpy``;
    * CuPy's own random generator (a different stream of numbers than NumPy's, also seeded by
      ``shenjing.manual_seed``);
    * fused element-wise kernels (:func:`adam_kernel`) replace chains of small kernel launches.
    """

    conv_block_bytes = 1 << 31  # a GPU wants the whole batch in one product, not cache-sized blocks

    def __init__(self) -> None:
        if cupy.cuda.runtime.getDeviceCount() == 0:  # pragma: no cover
            raise RuntimeError("shenjing: CuPy is installed but no CUDA device is visible")
        super().__init__(Device("cuda"), cupy, (cupy.ndarray,))

    def from_host(self, array: Any) -> Any:
        return cupy.asarray(array)

    def to_host(self, array: Any) -> numpy.ndarray:
        return cupy.asnumpy(array)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        cupyx.scatter_add(target, index, values)

    def special(self, name: str) -> Any:
        import cupyx.scipy.special

        return getattr(cupyx.scipy.special, name, None)

    def fused_adam(self, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, beta1: float, beta2: float,
                   step_size: float, bias_correction2_sqrt: float, eps: float) -> None:
        """Adam's update of one parameter in one kernel launch (formulas in :func:`adam_kernel`)."""
        dtype = param.dtype.type
        adam_kernel()(grad, dtype(beta1), dtype(beta2), dtype(step_size), dtype(bias_correction2_sqrt), dtype(eps),
                      param, exp_avg, exp_avg_sq)

    def seed(self, seed: int) -> None:
        self._seed = seed
        self.generator = cupy.random.default_rng(seed)

    def get_rng_state(self) -> dict:
        # CuPy's generators cannot export their state; keep the seed and the number of draws is not tracked.
        return {"seed": getattr(self, "_seed", None)}

    def set_rng_state(self, state: dict) -> None:
        if state.get("seed") is not None:
            self.seed(state["seed"])


_adam = None


def adam_kernel() -> Any:
    """One fused CUDA kernel for Adam's whole update (replaces ~10 element-wise launches per parameter).

        m ← m + (1 − β₁)(g − m);  v ← β₂ v + (1 − β₂) g²;  p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
    """
    global _adam
    if _adam is None:
        _adam = cupy.ElementwiseKernel(
            "T g, T beta1, T beta2, T step_size, T bc2_sqrt, T eps",
            "T p, T m, T v",
            """
            m = m + (1 - beta1) * (g - m);
            v = beta2 * v + (1 - beta2) * g * g;
            p = p - step_size * m / (sqrt(v) / bc2_sqrt + eps);
            """,
            "shenjing_adam",
        )
    return _adam
