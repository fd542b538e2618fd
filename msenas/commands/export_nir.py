"""msenas export-nir RESULT_DIR: a trained network as a NIR graph file (docs/nir.md)."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="result folder written by msenas train / transfer")
    p.add_argument("--out", metavar="FILE", default=None, help="the .nir file to write (default: RESULT/network.nir)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="precision of the stored parameters (default float32)")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from msenas.export.nir_graph import export_result

    print(export_result(args.result, args.out, np.dtype(args.dtype).type))
    return 0
