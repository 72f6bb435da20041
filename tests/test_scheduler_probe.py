"""`--scheduler` at something that is not a Dask scheduler fails fast with what was found.

Servers on the loopback only, each answering one connection and then stopping.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from resilience.engine.distributed import probe_scheduler
from resilience.errors import ClusterError


def serve_once(reply: bytes | None, hold: float = 0.0) -> tuple[str, threading.Thread]:
    """A loopback server that accepts one connection, sends ``reply`` (None: nothing) and
    keeps the connection open ``hold`` seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run():
        with server:
            server.settimeout(60)
            try:
                conn, _ = server.accept()
            except TimeoutError:  # the client never came (it failed earlier): nothing to do
                return
            with conn:
                if reply:
                    conn.sendall(reply)
                time.sleep(hold)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"tcp://127.0.0.1:{port}", thread


def test_http_server_is_named():
    address, thread = serve_once(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    with pytest.raises(ClusterError, match="an HTTP server answered"):
        probe_scheduler(address, timeout=5)
    thread.join(5)


def test_silent_server_times_out_quickly():
    address, thread = serve_once(None, hold=3.0)
    started = time.monotonic()
    with pytest.raises(ClusterError, match="said nothing within 1 s"):
        probe_scheduler(address, timeout=1)
    assert time.monotonic() - started < 3
    thread.join(5)


def test_closed_connection_and_garbage_are_named():
    address, thread = serve_once(None)
    with pytest.raises(ClusterError, match="closed the connection without a word"):
        probe_scheduler(address, timeout=5)
    thread.join(5)
    address, thread = serve_once(b"\xff" * 16)
    with pytest.raises(ClusterError, match="not Dask's protocol"):
        probe_scheduler(address, timeout=5)
    thread.join(5)


def test_nothing_listening_and_bad_addresses():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match="cannot reach Dask scheduler"):
        probe_scheduler(f"tcp://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ClusterError, match="expected tcp://HOST:PORT"):
        probe_scheduler("tcp://nohost")


def test_a_real_scheduler_passes():
    distributed = pytest.importorskip("distributed")
    import asyncio

    async def main():
        async with distributed.Scheduler(port=0, dashboard_address=None) as scheduler:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, probe_scheduler, scheduler.address, 5.0)

    asyncio.run(main())
