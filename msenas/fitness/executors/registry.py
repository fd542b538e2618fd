"""The executor registry, below the configs that name its entries (fitness/config.py checks a name against it).

Each module of this package registers its executor here when the package is imported.
"""
from __future__ import annotations

from typing import Any, Callable

from msenas.registry import Registry

EXECUTORS: Registry[Callable[..., Any]] = Registry("executor")   # name -> class with from_config()
