"""A restricted unpickler for dataset pickles (CIFAR's python layout): plain data and numpy arrays only.

``pickle.load`` runs whatever callables a file names, so a hostile or broken
file can execute code or fail with ModuleNotFoundError. This unpickler admits
only the few globals that pickled numpy arrays need; dicts, lists, tuples,
bytes, str, numbers need no global at all. Anything else is refused.
"""
from __future__ import annotations

import codecs
import pickle
from typing import BinaryIO

import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]

_NUMPY_PARTS = {"_reconstruct": _multiarray._reconstruct, "scalar": _multiarray.scalar,
                "_frombuffer": _numeric._frombuffer}
ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles written by Python 3 store bytes
    **{(f"numpy.{core}.{mod}", name): obj
       for core in ("core", "_core") for mod in ("multiarray", "numeric") for name, obj in _NUMPY_PARTS.items()},
}


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle names a global outside ``ALLOWED``."""


class DataUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the globals in ``ALLOWED``."""

    def find_class(self, module: str, name: str):
        obj = ALLOWED.get((module, name))
        if obj is None:
            raise ForbiddenGlobal(f"it references {module}.{name}, which is not plain data or a numpy array")
        return obj


def load(f: BinaryIO, encoding: str = "bytes"):
    """Unpickle plain data and numpy arrays from ``f``; anything else raises UnpicklingError."""
    return DataUnpickler(f, encoding=encoding).load()
