"""Prefect settings the project sets for itself, so that nobody has to (ISSUE: Foundation).

Called before Prefect is imported (CLI, tests). Values already in the environment win, so a
deployment pointing at a real server (PREFECT_API_URL) is left alone.
"""

import os
from pathlib import Path

from otklik.prefect_server import guard_temporary_servers

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / ".prefect"),  # never the user's ~/.prefect
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no telemetry; it also fails offline with an ERROR line
    "DO_NOT_TRACK": "1",
    # A loaded 2-core CI machine can take longer than the default 20 s to start the temporary server.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # The CLI prints its own summary and one line per error, and every run is in audit.runs; Prefect's
    # own ERROR lines would repeat each failure with a traceback. Set the variable to see them.
    "PREFECT_LOGGING_LEVEL": "CRITICAL",
}


def configure_prefect_env() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    guard_temporary_servers()  # a temporary Prefect server stops when this process ends, even by kill -9
