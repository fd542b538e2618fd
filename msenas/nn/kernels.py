"""The package's C kernels (msenas/nn/csrc), compiled on first use with the system C compiler and loaded with ctypes.

Two libraries: NEURONS (neurons.c: fused multi-step IF / LIF / PLIF, used by msenas/nn/fused.py) and BATCHNORM
(batchnorm.c: channels-last BatchNorm statistics and backward, used by msenas/nn/batchnorm.py). Each has one
header, its whole interface: the .c file includes it, so the compiler checks every definition against it, and
`parse_header` reads its enums, structs and prototypes to declare them to ctypes, so a signature is written
once, in C. A library is compiled once per machine and source (about 0.3 s) into a cache folder; `load(lib)`
returns its functions, or None when no compiler works, and the callers then fall back to spikingjelly's
neurons and torch's BatchNorm.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

CSRC = Path(__file__).with_name("csrc")
COMMON = ("common.h",)           # headers every library includes
# -ffp-contract=off: no fused multiply-add, so every rounding matches torch's separate ops;
# -fno-trapping-math lets the compiler vectorize the compare-and-select (results unchanged).
FLAGS = ("-O3", "-shared", "-fPIC", "-std=c99", "-ffp-contract=off", "-fno-trapping-math")
_SCALARS = {"void": None, "int": ctypes.c_int, "int64_t": ctypes.c_int64, "double": ctypes.c_double,
            "float": ctypes.c_float}


@dataclass(frozen=True)
class Interface:
    """What a header declares: enum constants, structs (as ctypes Structures) and function signatures."""

    enums: dict[str, int]
    structs: dict[str, type[ctypes.Structure]]
    functions: dict[str, tuple[object, tuple]]      # name -> (restype, argtypes)


def _ctype(decl: str, structs: dict[str, type[ctypes.Structure]]):
    """The ctypes type of one C declaration ('const float *x', 'int64_t T', 'const struct neuron *p', 'int')."""
    words = decl.replace("*", " * ").split()
    pointer = "*" in words
    words = [w for w in words if w not in ("*", "const")]
    if words[0] == "struct" and words[1] in structs:
        struct = structs[words[1]]
        return ctypes.POINTER(struct) if pointer else struct
    if pointer:
        return ctypes.c_void_p                      # tensors: passed as data pointers
    if words[0] not in _SCALARS:
        raise ValueError(f"C declaration {decl.strip()!r}: type unknown to msenas/nn/kernels.py (_SCALARS)")
    return _SCALARS[words[0]]


def parse_header(text: str) -> Interface:
    """Enums, structs and prototypes of a plain-C header (no macros in them), in the order written."""
    code = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    enums = {name: int(value) for body in re.findall(r"\benum\s+\w+\s*\{(.*?)\}\s*;", code, re.S)
             for name, value in re.findall(r"(\w+)\s*=\s*(-?\d+)", body)}
    structs: dict[str, type[ctypes.Structure]] = {}
    for name, body in re.findall(r"\bstruct\s+(\w+)\s*\{(.*?)\}\s*;", code, re.S):
        fields = [(d.split()[-1], _ctype(" ".join(d.split()[:-1]), structs)) for d in body.split(";") if d.strip()]
        structs[name] = type(name, (ctypes.Structure,), {"_fields_": fields})
    code = re.sub(r"\b(enum|struct)\s+\w+\s*\{.*?\}\s*;", " ", code, flags=re.S)
    functions = {}
    for ret, name, args in re.findall(r"([\w\s]+?)\s+(\w+)\s*\(([^)]*)\)\s*;", code):
        argtypes = tuple(_ctype(a, structs) for a in args.split(",") if a.strip() not in ("", "void"))
        functions[name] = (_ctype(ret, structs), argtypes)
    return Interface(enums, structs, functions)


@dataclass(frozen=True)
class Library:
    """One C library of the package: a source file and its header in `root` (msenas/nn/csrc)."""

    name: str
    source: str
    header: str
    root: Path = CSRC
    interface: Interface = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "interface", parse_header((self.root / self.header).read_text()))

    def files(self) -> tuple[Path, ...]:
        """Every file its build reads (the source, its header, the shared headers)."""
        return tuple(self.root / f for f in (self.source, self.header, *COMMON))

    def tag(self) -> str:
        """A digest of what the build reads and how, so a changed source or flag builds anew."""
        parts = [p.read_bytes() for p in self.files()] + [" ".join(FLAGS).encode(), sys.platform.encode()]
        return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


NEURONS = Library("neurons", "neurons.c", "neurons.h")
BATCHNORM = Library("batchnorm", "batchnorm.c", "batchnorm.h")


class Kernels:
    """A loaded library: one attribute per function its header declares, with the header's signature."""

    def __init__(self, lib: Library, cdll: ctypes.CDLL):
        self.library, self._cdll = lib, cdll             # the CDLL stays referenced while the functions live
        for name, (restype, argtypes) in lib.interface.functions.items():
            fn = getattr(cdll, name)                     # AttributeError if the source lacks a declared function
            fn.restype, fn.argtypes = restype, list(argtypes)
            setattr(self, name, fn)


def cache_dir() -> Path:
    """Where compiled kernel libraries live (MSENAS_CACHE, else XDG cache, else ~/.cache)."""
    root = os.environ.get("MSENAS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "msenas")
    return Path(root) / "kernels"


def _compile(lib: Library, out: Path, openmp: bool) -> None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / out.name
        cmd = [*cc.split(), *FLAGS, *(["-fopenmp"] if openmp else []), f"-I{lib.root}", str(lib.root / lib.source),
               "-o", str(built)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise OSError(f"{' '.join(cmd[:1])} failed: {done.stderr.strip()[:300]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, out)                      # atomic: concurrent workers may build at once


@cache
def load(lib: Library = NEURONS) -> Kernels | None:
    """The library's functions, compiled on first use (with OpenMP when the compiler has it); None if impossible."""
    errors = []
    for openmp in (True, False):
        path = cache_dir() / f"{lib.name}-{lib.tag()}{'-omp' if openmp else ''}.so"
        try:
            if not path.exists():
                _compile(lib, path, openmp)
            return Kernels(lib, ctypes.CDLL(str(path)))
        except (OSError, subprocess.SubprocessError, AttributeError) as e:
            errors.append(f"{'with' if openmp else 'without'} OpenMP: {e}")
    log.warning("C kernels %r unavailable (%s); using the plain torch / spikingjelly path", lib.name,
                "; ".join(errors))
    return None


STATUS = parse_header((CSRC / "common.h").read_text()).enums      # MSENAS_OK, ... as the kernels return them


def check(rc: int, what: str) -> None:
    """Raise for a kernel's return code other than MSENAS_OK (csrc/common.h)."""
    if rc == STATUS["MSENAS_OUT_OF_MEMORY"]:
        raise MemoryError(f"{what}: out of memory")
    if rc != STATUS["MSENAS_OK"]:
        raise ValueError(f"{what}: the kernel refused its arguments (code {rc})")
