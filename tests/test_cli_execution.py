"""How the CLI reports execution problems: one line, the right exit code, never a hang.

Real subprocesses, so the package's own logging set-up and signal handling are used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resilience.kernels.simulate import LANES
from tests.test_scheduler_probe import serve_once

CLI = [sys.executable, "-c", "from resilience.cli import main; main()"]


def cli(*args, timeout=120):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_a_web_server_as_scheduler_is_one_line_exit_1(two_tier_path):
    address, thread = serve_once(b"HTTP/1.0 200 OK\r\n\r\n<html></html>")
    started = time.monotonic()
    result = cli("run", two_tier_path, "--paths", 64, "--scheduler", address)
    assert time.monotonic() - started < 60
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert lines == [
        f"Error: no Dask scheduler at {address}: an HTTP server answered "
        "(a dashboard or web page address?)"
    ]
    assert "Traceback" not in result.stderr
    thread.join(5)


def test_absurd_worker_counts_are_refused_up_front(two_tier_path):
    cores = len(os.sched_getaffinity(0))
    result = cli("run", two_tier_path, "--paths", 64, "--workers", 100 * cores)
    assert result.returncode == 1
    assert "worker processes per core would spend the run starting them" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tiny_block_size_warns_but_gives_the_same_result(two_tier_path, tmp_path):
    small = cli("run", two_tier_path, "--paths", 40, "--block-size", 8, "-s", "jit")
    assert small.returncode == 0, small.stderr
    assert f"block size 8 is below {LANES}" in small.stderr
    plain = cli("run", two_tier_path, "--paths", 40, "-s", "jit")
    table = [line for line in small.stdout.splitlines() if "paths x" not in line]
    assert table == [line for line in plain.stdout.splitlines() if "paths x" not in line]


def test_an_internal_error_is_reported_as_a_bug(tmp_path, two_tier_path):
    """A bug (here: a patched kernel entry point raising TypeError) is not dressed up as a
    user error: exit 70, the words 'a bug', and the traceback in a log file."""
    code = (
        "import resilience.engine.execution as e\n"
        "def boom(*a, **k):\n    raise TypeError('operands could not be broadcast')\n"
        "e.make_executor = boom\n"
        "from resilience.cli import main\nmain()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "run", str(two_tier_path), "--paths", "32"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 70
    assert "internal error, a bug in resilience (TypeError" in result.stderr
    log = result.stderr.split("traceback in ")[1].split(";")[0]
    assert "Traceback" in Path(log).read_text()
    assert "Traceback" not in result.stderr
    debug = subprocess.run(
        [sys.executable, "-c", code, "run", str(two_tier_path), "--paths", "32", "--debug"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert debug.returncode == 70 and "Traceback" in debug.stderr


@pytest.mark.slow
def test_sigterm_explains_itself(two_tier_path, tmp_path):
    out = tmp_path / "r.zarr"
    proc = subprocess.Popen(
        [*CLI, "run", str(two_tier_path), "--paths", "2000000", "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert "Terminated (SIGTERM); no result was written." in err
    assert not out.exists()
