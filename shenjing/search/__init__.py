"""Hyperparameter search on Optuna: grid, random, TPE and CMA-ES samplers, median / Hyperband pruning, k-fold
objectives, SQLite (resumable) or database storage shared by many workers. See :mod:`shenjing.search.space` for
the ``[search]`` section and :func:`search` for the Python API; ``shenjing search CONFIG.toml`` on the command line.
"""

from .space import SearchConfig, Space, apply_params, grid_size, parse_search
from .study import SearchResult, load_search, objective_value, search

__all__ = [
    "search",
    "SearchResult",
    "SearchConfig",
    "Space",
    "parse_search",
    "load_search",
    "apply_params",
    "grid_size",
    "objective_value",
]
