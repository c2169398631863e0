"""``shenjing.Generator``: a random generator object to pass as ``generator=``, as ``torch.Generator``.

Differs from PyTorch: the numbers come from the backend's own generator (NumPy's PCG64 on the CPU, CuPy's on a
GPU), not from PyTorch's Mersenne Twister / Philox streams. The same seed gives the same numbers every run,
but not the numbers PyTorch gives for that seed.
"""

from __future__ import annotations

import json
from typing import Any

from . import backend as _backend
from .backend import Device, get_backend

__all__ = ["Generator", "default_generator", "rng_of", "manual_seed", "initial_seed", "seed"]

_TORCH_DEFAULT_SEED = 67280421310721  # torch.Generator().initial_seed(), kept so programs that print it agree


class Generator:
    """A seedable source of random numbers for ``rand``, ``randn``, ``randint``, ``randperm``, samplers, ...

    Attributes:
        device: the device whose array library draws the numbers.
        rng: the array library's own generator (``numpy.random.Generator`` on the CPU); code that draws
            numbers takes ``rng = generator.rng if generator is not None else <default>``.

    Example:
        >>> import shenjing
        >>> g = shenjing.Generator().manual_seed(0)
        >>> a = shenjing.rand(3, generator=g)
        >>> bool((a == shenjing.rand(3, generator=g.manual_seed(0))).all())
        True
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = Device(device)
        self._xp = get_backend(self.device).xp
        self.manual_seed(_TORCH_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (negative seeds are taken modulo 2⁶⁴, as PyTorch). Returns self."""
        seed = int(seed)
        if seed < -(1 << 63) or seed >= 1 << 64:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} is outside [-2^63, 2^64)")
        self._initial_seed = seed % (1 << 64)
        self.rng = self._xp.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Seed from fresh OS entropy; returns the seed chosen."""
        from numpy.random import SeedSequence  # NOTE: entropy only, no math

        seed = int(SeedSequence().entropy) % (1 << 63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._initial_seed

    def get_state(self) -> Any:
        """The generator's state as a uint8 Tensor (as PyTorch's ByteTensor), for :meth:`set_state`."""
        from .tensor import tensor

        state = {"seed": self._initial_seed, "bit_generator": self.rng.bit_generator.state}
        return tensor(list(json.dumps(state).encode()), dtype="uint8")

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from :meth:`get_state`. Returns self."""
        raw = bytes(new_state.tolist() if hasattr(new_state, "tolist") else new_state)
        try:
            state = json.loads(raw.decode())
            self._initial_seed = state["seed"]
            self.rng = self._xp.random.default_rng()
            self.rng.bit_generator.state = state["bit_generator"]
        except (ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"Generator.set_state: not a state from Generator.get_state() ({error})") from None
        return self

    def __repr__(self) -> str:
        return f"<shenjing.Generator object, device='{self.device}', initial_seed={self._initial_seed}>"


class _DefaultGenerator(Generator):
    """``shenjing.default_generator``: the CPU backend's own generator (the one ``manual_seed`` seeds)."""

    def __init__(self) -> None:
        self.device = Device("cpu")
        self._xp = get_backend(self.device).xp
        self._initial_seed = _TORCH_DEFAULT_SEED

    @property
    def rng(self) -> Any:  # type: ignore[override]
        return get_backend(self.device).generator

    @rng.setter
    def rng(self, value: Any) -> None:
        get_backend(self.device).generator = value


default_generator = _DefaultGenerator()


def manual_seed(seed: int) -> Generator:
    """Seed every backend's generator (initialisation, dropout, shuffling); returns ``default_generator``.

    As ``torch.manual_seed``: the same seed gives the same run, though not PyTorch's numbers.
    """
    _backend.manual_seed(seed)
    default_generator._initial_seed = int(seed) % (1 << 64)
    return default_generator


def initial_seed() -> int:
    """The seed the default generator last started from (``torch.initial_seed``)."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed every backend from fresh OS entropy; returns the seed chosen (``torch.seed``)."""
    from numpy.random import SeedSequence  # NOTE: entropy only, no math

    chosen = int(SeedSequence().entropy) % (1 << 63)
    manual_seed(chosen)
    return chosen


def rng_of(generator: Any, backend: Any) -> Any:
    """The array library's generator to draw from: ``generator``'s, or ``backend``'s default one."""
    if generator is None:
        return backend.generator
    return generator.rng if isinstance(generator, Generator) else generator
