"""What a person reads beyond the text table: figures, the HTML report, sweep reports.

Never imports the engine: everything here works from a stored result.
"""

from resilience.report.html import FIGURES, write_report
from resilience.report.sweep import write_sweep_report

__all__ = ["FIGURES", "write_report", "write_sweep_report"]
