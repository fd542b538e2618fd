"""The strategy registry, below the search config that names its entries (search/config.py checks a name against it).

Each module of this package registers its strategy here when the package is imported.
"""
from __future__ import annotations

from typing import Any

from msenas.registry import Registry

STRATEGIES: Registry[Any] = Registry("search strategy")   # name -> Strategy subclass
