"""Containers: Sequential (layers applied in order), ModuleList / ModuleDict / ParameterList / ParameterDict
(registered collections), DataParallel (the one-device wrapper)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "DataParallel"]


class Sequential(Module):
    """Layers applied one after the other: forward propagation a⁽ˡ⁾ = layerₗ(a⁽ˡ⁻¹⁾).

    Example:
        >>> from shenjing import nn
        >>> model = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
        ...                       nn.Linear(16, 10))
        >>> sum(p.numel() for p in model.parameters())
        13002
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of sub-modules, registered (their parameters are the owner's); indexable like a list."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        for module in modules or []:
            self.append(module)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return list(self._modules.values())[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(index % len(self)), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Any) -> ModuleList:
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """A dict of sub-modules, registered under their keys."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        for name, module in dict(modules or {}).items():
            self.add_module(name, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()


_NOT_IN_FILES = (
    "{name} is not saved as structure in a model file (its parameters' shapes are not constructor arguments); "
    "save the weights with shenjing.save(model.state_dict(), path) and rebuild the model in code"
)


class ParameterList(Module):
    """A list of parameters, registered under "0", "1", … (so ``model.parameters()`` and the state dict see them);
    a tensor given to it becomes a Parameter, as PyTorch's."""

    def __init__(self, values: Any = None) -> None:
        super().__init__()
        for value in values or []:
            self.append(value)

    def _param(self, value: Any) -> Any:
        from .module import Parameter

        return value if isinstance(value, Parameter) or value is None else Parameter(value)

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._parameters.values())
        return ParameterList(values[index]) if isinstance(index, slice) else values[index]

    def __setitem__(self, index: int, value: Any) -> None:
        self.register_parameter(str(index % len(self)), self._param(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._parameters.values())

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self)), self._param(value))
        return self

    def extend(self, values: Any) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def get_config(self) -> dict:
        raise NotImplementedError(_NOT_IN_FILES.format(name=type(self).__name__))

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, p) for k, p in self._parameters.items())


class ParameterDict(Module):
    """A dict of parameters, registered under their keys (tensors become Parameters)."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        for key, value in dict(parameters or {}).items():
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        from .module import Parameter

        self.register_parameter(key, value if isinstance(value, Parameter) or value is None else Parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: str) -> bool:
        return key in self._parameters

    def keys(self) -> Any:
        return self._parameters.keys()

    def values(self) -> Any:
        return self._parameters.values()

    def items(self) -> Any:
        return self._parameters.items()

    def update(self, parameters: Any) -> None:
        for key, value in dict(parameters).items():
            self[key] = value

    def get_config(self) -> dict:
        raise NotImplementedError(_NOT_IN_FILES.format(name=type(self).__name__))

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, p) for k, p in self._parameters.items())


def _describe(key: str, p: Any) -> str:
    """One line of a parameter container's repr, as PyTorch's: (0): Parameter containing: [float32 of size 2x3]."""
    if p is None:
        return f"({key}): None"
    return f"({key}): Parameter containing: [{p.dtype} of size {'x'.join(str(s) for s in p.shape)}]"


class DataParallel(Module):
    """``nn.DataParallel(module)``: on the CPU (no GPUs to scatter over) it runs ``module`` itself, as PyTorch
    does without device ids; the wrapped module is ``.module``, so state-dict keys gain the "module." prefix."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = list(device_ids or []), output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)

    def get_config(self) -> dict:
        raise NotImplementedError(_NOT_IN_FILES.format(name=type(self).__name__))
