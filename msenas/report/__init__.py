"""Figures and a Markdown summary of a search run folder or a training result folder (`msenas report`).

Matplotlib is imported by the submodules; import this package only where figures are wanted.
"""
from msenas.report.build import Report, make_report, result_figures, run_figures
from msenas.report.folders import ReportError, ResultFolder, RunFolder, read_folder

__all__ = ["Report", "ReportError", "ResultFolder", "RunFolder", "make_report", "read_folder",
           "result_figures", "run_figures"]
