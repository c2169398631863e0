"""``shenjing.backends``: PyTorch's ``torch.backends`` switches, answered for what shenjing runs on.

shenjing computes with NumPy on the CPU and CuPy on an NVIDIA GPU: it has no Apple-GPU (MPS) backend and
does not call cuDNN (its GPU convolutions are im2col matrix products), so ``mps`` and ``cudnn`` report not
available; their switches are accepted so that PyTorch programs that set them run unchanged. ``mkldnn`` is
oneDNN, which float32 convolutions on the CPU call where it is installed (as PyTorch's CPU convolutions do).
"""

from __future__ import annotations

from . import cuda, cudnn, mkldnn, mps

__all__ = ["cuda", "cudnn", "mkldnn", "mps"]
