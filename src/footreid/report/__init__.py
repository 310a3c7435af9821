"""The visual report of an experiment run: results table, charts, ranked grids, errors.

``build_report(run_dir)`` is the one call behind ``footreid report``. Charts use
matplotlib's Agg backend; the page is a single self-contained HTML file.
"""

from footreid.report.build import build_report
from footreid.report.run import RunResults, read_run

__all__ = ["RunResults", "build_report", "read_run"]
