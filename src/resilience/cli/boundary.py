"""The one decorator every command wears: logging, --quiet/--debug, and the error boundary.

- a user mistake (any ``ResilienceError``: bad scenario, option value, result file,
  cluster) prints one readable line, ``Error: ...``, and exits 1; a bad option or
  argument is click's usage error, exit 2;
- anything else is a bug in resilience: a short message says so and where the traceback
  was written (shown in full with ``--debug``), exit 70 (EX_SOFTWARE);
- OSError (a missing file, a full disk, no permission) is the machine's answer, not a
  bug: one line, exit 1;
- Ctrl-C and SIGTERM unwind (so atomic writers remove their temporaries) and exit 130 /
  143 with a line saying no result was written; a closed pipe (``| head``) exits quietly.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import tempfile
import threading
import traceback

import click

from resilience.errors import ResilienceError

#: exit code of an internal error (sysexits.h EX_SOFTWARE)
EXIT_BUG = 70

quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar or log messages.",
)
debug_option = click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an error.",
)


def _terminate(signum, frame):
    # SIGTERM (a batch scheduler's kill, a cluster pre-emption) unwinds like Ctrl-C, so the
    # atomic writers remove their temporary output.
    raise SystemExit(128 + signum)


def _configure_logging(quiet: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    # Dask's own chatter (worker start/stop, nanny restarts) only under --debug
    for name in ("distributed", "dask_jobqueue", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


def _user_error(exc: BaseException) -> None:
    message = str(exc).strip().replace("\n", "\n  ")
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _bug(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exc()
        where = "traceback above"
    else:
        fd, log_path = tempfile.mkstemp(prefix="resilience-error-", suffix=".log")
        with os.fdopen(fd, "w") as log:
            traceback.print_exc(file=log)
        where = f"traceback in {log_path}"
    click.echo(
        f"Error: internal error, a bug in resilience ({type(exc).__name__}: {exc}); "
        f"{where}; please report it",
        err=True,
    )
    sys.exit(EXIT_BUG)


def command(func):
    """Wrap a command's callback in the error boundary and give it --quiet and --debug."""

    @functools.wraps(func)
    def wrapper(*args, debug=False, quiet=False, **kwargs):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)
        _configure_logging(quiet, debug)
        try:
            return func(*args, quiet=quiet, **kwargs)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except (ResilienceError, OSError) as exc:
            if isinstance(exc, BrokenPipeError):
                _closed_pipe()
            if debug:
                traceback.print_exc()
            _user_error(exc)
        except KeyboardInterrupt:
            click.echo("Interrupted; no result was written.", err=True)
            sys.exit(130)
        except SystemExit as exc:
            if exc.code == 128 + signal.SIGTERM:
                click.echo("Terminated (SIGTERM); no result was written.", err=True)
            raise
        except Exception as exc:
            _bug(exc, debug)

    return debug_option(quiet_option(wrapper))


def _closed_pipe() -> None:
    # the reader went away (`resilience run ... | head`): nothing left to say to anyone
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)
