"""Will a genome's network fit? A lower bound of the memory it needs, checked before it is built.

The bound comes from msenas.nn.cost (shapes and parameters, no network built):
training keeps at least one [T,B,C,H,W] tensor per state and per motif edge for
the backward pass, plus the weights and their gradients; evaluation holds the
weights and the largest states of one batch. A genome within the size LIMITS of
msenas.genome.checks can still need terabytes (16 x stem, many reductions that
double the channels, a large batch or T): it is refused with a one-line error
naming the limit, instead of an allocation failure (or a swapping machine) later.
"""
from __future__ import annotations

import os
from pathlib import Path

from msenas.errors import MsenasError

GIB = 2 ** 30


class MemoryLimitError(MsenasError, MemoryError):
    """A network that cannot fit in the memory available; the message says how much it needs."""


def activation_values(genome, in_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(values kept for the backward pass, values of the largest state) per sample and time step."""
    from msenas.nn.cost import needs_preprocess, plan

    states = plan(genome, in_shape)
    total = 2 * states[0].channels * states[0].h * states[0].w          # stem conv, BN
    for i, (cell, reads) in enumerate(zip(genome.cells, genome.inputs)):
        out = states[i + 1]
        size = out.channels * out.h * out.w
        edges = sum(len(m.edges) for m in cell.motifs)
        preprocessed = sum(needs_preprocess(states[s], out) for s in reads)
        total += size * (edges + preprocessed + 1)
    largest = max(s.channels * s.h * s.w for s in states)
    return total, largest


def needed_bytes(genome, in_shape: tuple[int, int, int], n_classes: int, *, batch: int, T: int,
                 training: bool, value_bytes: int = 4) -> int:
    """A lower bound of the bytes a forward (and, training, backward) pass of one batch needs."""
    from msenas.nn.cost import complexity

    params = complexity(genome, in_shape, n_classes, T).params
    kept, largest = activation_values(genome, in_shape)
    if training:
        return 4 * 2 * params + value_bytes * batch * T * kept          # weights + gradients; saved activations
    return 4 * params + value_bytes * batch * T * 2 * largest            # weights; a state in and one out


def available_bytes(device=None) -> int | None:
    """Free memory of a CUDA device, or of this process (MemAvailable, a cgroup or ulimit -v limit); None if unknown."""
    if device is not None and getattr(device, "type", str(device)) == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    known = [v for v in (_meminfo_available(), _cgroup_free(), _address_space_free()) if v is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_free() -> int | None:
    """What a soft RLIMIT_AS (ulimit -v) leaves this process, when one is set."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return None
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return soft - int(line.split()[1]) * 1024
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_free() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), when a limit is set."""
    try:
        base = Path("/sys/fs/cgroup")
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((base / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def check_memory(genome, in_shape: tuple[int, int, int], n_classes: int, *, batch: int, T: int,
                 training: bool, device=None, value_bytes: int = 4, what: str = "train") -> int:
    """Raise MemoryLimitError when the network surely does not fit; return the bound (bytes)."""
    need = needed_bytes(genome, in_shape, n_classes, batch=batch, T=T, training=training, value_bytes=value_bytes)
    free = available_bytes(device)
    if free is not None and need > free:
        where = "GPU memory" if device is not None and getattr(device, "type", "") == "cuda" else "memory"
        raise MemoryLimitError(
            f"memory limit: to {what} this genome (channels {genome.channels}, stem x{genome.stem_multiplier}, "
            f"{genome.n_cells} cells) on input {tuple(in_shape)} with batch {batch} and T={T} needs at least "
            f"{_gib(need)}, more than the {_gib(free)} of free {where}; lower batch_size or T, or use a smaller genome")
    return need


def _gib(n: int) -> str:
    if n < 10 ** 6 * GIB:
        return f"{n / GIB:.3g} GiB"
    return f"about 10^{round((n // GIB).bit_length() * 0.30103)} GiB"
