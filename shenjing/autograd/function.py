"""``shenjing.autograd.function``, as ``torch.autograd.function``: Function, its ctx and once_differentiable."""

from . import Function, FunctionCtx, once_differentiable

BackwardCFunction = FunctionCtx

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]
