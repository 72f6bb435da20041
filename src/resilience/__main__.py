"""``python -m resilience ...``: the same command line as the installed ``resilience``."""

from resilience.cli import main

main()
