"""``shenjing.linalg``, as ``torch.linalg``: factorizations, inverses, norms and products, with autograd.

Every function takes (batches of) matrices in the last two axes, as PyTorch. Where each part lives:

    inverse.py         inv, det, slogdet, solve, pinv, lstsq, matrix_power, matrix_exp
    decompositions.py  cholesky, qr, eigh, eigvalsh, svd, svdvals, matrix_rank
    norms.py           vector_norm, matrix_norm, norm, cond, cross, vecdot, multi_dot, diagonal
    methods.py         the tensor-method forms (``A.det()``, old ``torch.svd``): ``TENSOR_METHODS``
"""

from __future__ import annotations

from ._common import LinAlgError
from .decompositions import cholesky, eigh, eigvalsh, matrix_rank, qr, svd, svdvals
from .inverse import det, inv, lstsq, matrix_exp, matrix_power, pinv, slogdet, solve
from .methods import TENSOR_METHODS
from .norms import cond, cross, diagonal, matrix_norm, multi_dot, norm, vecdot, vector_norm

__all__ = [
    "LinAlgError", "inv", "det", "slogdet", "solve", "pinv", "lstsq", "matrix_power", "matrix_exp", "cholesky", "qr",
    "eigh", "eigvalsh", "svd", "svdvals", "matrix_rank", "vector_norm", "matrix_norm", "norm", "cond", "cross",
    "vecdot", "multi_dot", "diagonal", "TENSOR_METHODS",
]
