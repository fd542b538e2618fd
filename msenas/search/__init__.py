"""Evolutionary search (DEAP GA, (mu+lambda), NSGA-II) over the genome codec, with data-only checkpoints."""
from msenas.search.checkpoint import CheckpointError
from msenas.search.evolution import Evolution, SearchState, initial_state
from msenas.search.results import RunFolderError, export_top, read_entries
from msenas.search.run import SearchInterrupted, new_run_dir, resume_config, run_search

__all__ = [
    "CheckpointError", "Evolution", "RunFolderError", "SearchInterrupted", "SearchState", "export_top",
    "initial_state", "new_run_dir", "read_entries", "resume_config", "run_search",
]
