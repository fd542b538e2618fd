"""The fuzz corpus (tests/fuzz_corpus.py): every hostile input ends in exit 0 or a one-line error, never a traceback,
and every refused command leaves the files and folders it names byte-identical."""
from __future__ import annotations

import shutil
from collections import Counter

from fuzz_corpus import make_corpus, memory_guard, problems, run_case


def test_every_case_of_the_fuzz_corpus_ends_in_exit_0_or_one_error_line_without_a_traceback(tmp_path_factory,
                                                                                             references):
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("run", "result", "darts"):           # the corpus copies of the session's reference folders
        shutil.copytree(references[name], root / f"reference-{name}", symlinks=True)
    cases = make_corpus(root)
    with memory_guard():                       # a case that allocates without bound fails fast instead
        outcomes = [run_case(case, root) for case in cases]
    tracebacks = [o.case.name for o in outcomes if o.traceback is not None or "Traceback" in o.stderr]
    wrong = {o.case.name: problems(o) for o in outcomes if problems(o)}
    codes = Counter(o.code for o in outcomes)
    assert len(cases) >= 80 and len({c.name for c in cases}) == len(cases)
    assert tracebacks == []
    assert wrong == {}
    assert set(codes) == {0, 2} and codes[0] >= 20 and codes[2] >= 150
    for o in outcomes:
        if o.code == 2:                        # one line naming the command, never a usage-only failure
            assert sum("error:" in line for line in o.stderr.splitlines()) == 1
    commands = Counter(c.argv[0] for c in cases)
    assert set(commands) == {"inspect", "search", "export", "export-nir", "train", "transfer", "evaluate",
                             "report", "darts", "results"}
    refused = [o for o in outcomes if o.case.expect == 2]
    assert all(o.extra["changed"] == [] for o in refused)        # snapshotted before and after: nothing changed
    guarded = Counter(c.argv[0] for c in cases if "/into_" in c.name or "/to_" in c.name)   # issue 29's classes
    assert set(guarded) == {"search", "train", "transfer", "darts", "export", "report", "export-nir", "results"}
    assert sum("/huge_" in c.name for c in cases) >= 12 and sum("empty" in c.name for c in cases) >= 10
