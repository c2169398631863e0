"""Generic tensor math (the Functions behind Tensor's operators); layer-specific ops live in ``nn/``."""

from .elementwise import Abs, Add, Clamp, Cos, Div, Exp, Log, Maximum, Minimum, Mul, Neg, Pow, Sin, Sqrt, Sub, Where
from .linalg import MatMul
from .reduce import Amax, LogSumExp, MaxAlong, Mean, Sum, Var, normalize_axis
from .cumulative import Cumprod, Cumsum
from .einsum import Einsum
from .indexing import (
    DiagEmbed, Diagonal, Gather, IndexAdd, IndexSelect, MaskedSelect, Roll, Scatter, ScatterAdd, ScatterReduce,
    Triangle,
)
from .shape import Cat, Expand, Flip, Index, Pad, Permute, Reshape, Stack, Tile

__all__ = [
    "Abs", "Add", "Amax", "Cat", "Clamp", "Cos", "Div", "Exp", "Expand", "Flip", "Index", "Log", "LogSumExp",
    "MatMul", "MaxAlong", "Maximum", "Mean", "Minimum", "Mul", "Neg", "Pad", "Permute", "Pow", "Reshape", "Sin",
    "Sqrt", "Stack", "Sub", "Sum", "Tile", "Var", "Where", "normalize_axis",
    "Cumprod", "Cumsum", "Einsum", "Diagonal", "DiagEmbed", "Gather", "IndexAdd", "IndexSelect", "MaskedSelect", "Roll",
    "Scatter", "ScatterAdd", "ScatterReduce", "Triangle",
]
