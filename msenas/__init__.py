"""msenas: multi-scale architecture search for spiking neural networks (MSE-NAS, MA-DARTS), as a Python API.

    import msenas
    cfg = msenas.load_config("experiments/digits.toml", ["search.generations=3"])
    state = msenas.run_search(cfg, "runs/demo")
    rows = msenas.results("runs/demo")                  # one dict per evaluation: pandas.DataFrame(rows)
    genome = msenas.load_genome("runs/demo/best.json")
    net = msenas.build_network(genome, (1, 8, 8), n_classes=10, T=4)
    metrics = msenas.train_genome(genome, msenas.DataConfig("digits", options={"size": 8}).build(4),
                                  msenas.TrainConfig(epochs=2), "results/demo")
    metrics = msenas.train_genome("runs/demo/best.json", cfg=msenas.TrainConfig(epochs=2))  # on its dataset, size

Names load on first use, so `import msenas` stays light (no torch, no Ray). A function never shares
its name with a subpackage (msenas.train is the training package; msenas.train_genome trains).
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("msenas")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_API = {
    # configs
    "load_config": "msenas.search.config", "RunConfig": "msenas.search.config", "SearchConfig": "msenas.search.config",
    "DataConfig": "msenas.config", "FitnessConfig": "msenas.fitness.config", "ExecutorConfig": "msenas.fitness.config",
    "TrainConfig": "msenas.train.config", "DartsConfig": "msenas.darts.config",
    # genomes and networks
    "Genome": "msenas.genome", "load_genome": "msenas.genome.io:load", "save_genome": "msenas.genome.io:save",
    "get_space": "msenas.genome", "sample": "msenas.genome", "build_network": "msenas.nn.network",
    "complexity": "msenas.nn.cost",
    # search, training, MA-DARTS, results
    "run_search": "msenas.search.run", "STRATEGIES": "msenas.search.strategies",
    "train_genome": "msenas.train.recorded",
    "evaluate_result": "msenas.train.result", "load_result": "msenas.train.result",
    "run_darts": "msenas.darts.loop:search", "results": "msenas.report.tables", "make_report": "msenas.report.build",
    "get_dataset": "msenas.data",
    # errors
    "MsenasError": "msenas.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'msenas' has no attribute {name!r}")
    module, _, attr = _API[name].partition(":")
    value = getattr(import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
