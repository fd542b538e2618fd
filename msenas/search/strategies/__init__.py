"""Search strategies by name, one file each (ga, mu_plus_lambda, nsga2, random, ...), found automatically.

A new strategy is one file in this folder: a Strategy subclass filling in
`_ask`/`_tell` (or a SteadyState subclass filling in `_ask_one`), registered
with `@STRATEGIES.register(name)`. Every module here is imported below, so the
file is all it takes; tests/test_strategies.py runs every entry through the same checks.
"""
import importlib
import pkgutil

from msenas.search.strategies.base import STRATEGIES, SteadyState, Strategy, diversity, vary

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_m}")

__all__ = ["STRATEGIES", "SteadyState", "Strategy", "diversity", "vary"]
