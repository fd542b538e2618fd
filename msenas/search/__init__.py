"""Architecture search over the genome codec: strategies (ask/tell), generational and async loops, run folders."""
from msenas.search.checkpoint import CheckpointError
from msenas.search.config import RunConfig, SearchConfig, load_config
from msenas.search.results import export_top, read_entries
from msenas.search.run import SearchInterrupted, new_run_dir, resume_config, run_search
from msenas.search.state import SearchState, initial_state
from msenas.search.strategies import STRATEGIES, Strategy

__all__ = [
    "CheckpointError", "RunConfig", "STRATEGIES", "SearchConfig", "SearchInterrupted", "SearchState", "Strategy",
    "export_top", "initial_state", "load_config", "new_run_dir", "read_entries", "resume_config", "run_search",
]
