"""The layer-name registry: the only way a model file's structure becomes classes.

A model file names each layer by a short registered name ("Linear", "ReLU", "MyBlock") and lists its
constructor arguments. Loading looks the name up HERE and nowhere else: never a module path, never a
function named in the file, never pickle. (Keras's ``Lambda`` layers and module paths in saved configs
let a crafted file run code: CVE-2025-1550, CVE-2025-9906. A name that is not registered is an error.)

Every layer class exported by ``shenjing.nn`` is registered under its class name. Register your own::

    @shenjing.nn.register_module("MyBlock")
    class MyBlock(shenjing.nn.Module):
        def __init__(self, width: int): ...
        def get_config(self): return {"width": self.width}
"""

from __future__ import annotations

from typing import Any

__all__ = ["register_module", "register", "unregister", "get_module_class", "name_of", "registered_names"]

_by_name: dict[str, type] = {}
_by_class: dict[type, str] = {}
_builtins_loaded = False


def _load_builtins() -> None:
    """Register every Module subclass that ``shenjing.nn`` exports, under its class name (done once, lazily)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    from . import nn

    for name in dir(nn):
        value = getattr(nn, name)
        if (
            isinstance(value, type)
            and issubclass(value, nn.Module)
            and value is not nn.Module
            and value.__module__.startswith("shenjing.nn.")
            and not issubclass(value, nn.LazyModuleMixin)  # saved as the eager layer each becomes at its first call
        ):
            _by_name.setdefault(value.__name__, value)
            _by_class.setdefault(value, value.__name__)
    _builtins_loaded = True


def register_module(name: str | None = None, cls: type | None = None, *, override: bool = False) -> Any:
    """Register a Module class under ``name`` so model files can rebuild it; usable as a decorator.

        @register_module("MyBlock")          # or @register_module() for the class's own name
        class MyBlock(nn.Module): ...

        register_module("MyBlock", MyBlock)  # the same, as a call

    The class must define ``get_config()`` returning its constructor arguments (JSON values). Registering a
    different class under a name already taken is an error unless ``override=True``.
    """
    if isinstance(name, type):  # used bare: @register_module
        name, cls = None, name

    def decorate(klass: type) -> type:
        from .nn.module import Module

        if not (isinstance(klass, type) and issubclass(klass, Module)):
            raise TypeError(f"register_module: expected a subclass of shenjing.nn.Module, got {klass!r}")
        key = name if name is not None else klass.__name__
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"register_module: expected a name made of letters, digits and '_', got {key!r}")
        _load_builtins()
        taken = _by_name.get(key)
        if taken is not None and taken is not klass and not override:
            raise ValueError(
                f"register_module: the name {key!r} is already registered to {taken.__module__}.{taken.__qualname__}. "
                "Choose another name, or pass override=True to replace it."
            )
        _by_name[key] = klass
        _by_class[klass] = key
        return klass

    return decorate(cls) if cls is not None else decorate


def register(name: str, cls: type, *, override: bool = False) -> type:
    """``register(name, cls)``: :func:`register_module` as a plain call."""
    return register_module(name, cls, override=override)


def unregister(name: str) -> None:
    """Forget a registered name (for tests and plugins)."""
    klass = _by_name.pop(name, None)
    if klass is not None and _by_class.get(klass) == name:
        del _by_class[klass]


def get_module_class(name: str) -> type:
    """The class registered under ``name``; a KeyError listing the known names if there is none."""
    _load_builtins()
    klass = _by_name.get(name) if isinstance(name, str) else None
    if klass is None:
        raise KeyError(
            f"unknown layer type {name!r}. Known layer types: {', '.join(sorted(_by_name))}. A custom layer must be "
            f'registered before loading: decorate its class with @shenjing.nn.register_module("{name}").'
        )
    return klass


def name_of(module: Any) -> str:
    """The registered name of ``module``'s class (exact class: a subclass needs its own name)."""
    _load_builtins()
    name = _by_class.get(type(module))
    if name is None:
        klass = type(module)
        raise KeyError(
            f"{klass.__name__} is not a registered layer, so a model file could not rebuild it. Register it with "
            f'@shenjing.nn.register_module("{klass.__name__}") on the class and define get_config() returning '
            "its constructor arguments; or save only the weights: shenjing.save(model.state_dict(), path)."
        )
    return name


def registered_names() -> list[str]:
    """Every registered layer name, sorted."""
    _load_builtins()
    return sorted(_by_name)


def is_registered(name: str) -> bool:
    _load_builtins()
    return name in _by_name
