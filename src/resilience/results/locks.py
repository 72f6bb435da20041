"""One writer per result, and what a killed writer leaves beside it.

- ``output_lock``: ``.OUT.lock`` beside ``OUT`` is held (``fcntl.flock``) for the whole
  write, and a second writer is refused with the first one's pid and host;
- temporaries (``.OUT.partial-XXXXXXXX/``, ``.OUT.old-XXXXXXXX/``) carry an owner record
  (``owner.json``: pid, host, start time) and, once what they hold is whole, a
  ``complete`` marker;
- ``tidy`` (holding the lock) removes the temporaries of writers that are provably dead
  and, when ``OUT`` is missing, finishes (or undoes) a replace killed between its two
  renames.

docs/results-format.md, "Files beside a result", says what may remain beside a result.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil

from resilience.errors import ResultsError
from resilience.results.formats import is_result, parent
from resilience.results.integrity import store_problem

log = logging.getLogger(__name__)

OWNER = "owner.json"  # in a temporary: who made it
COMPLETE = "complete"  # in a temporary: the result in it is whole
#: locks this process holds: lock path -> [fd or None, depth] (re-entrant: a merge holds
#: it and calls write_dataset, which takes it again)
_HELD: dict[str, list] = {}
#: temporaries this process is using now (never cleaned as another's leftovers)
_ACTIVE: set[str] = set()


def lock_path(out: Path) -> Path:
    return parent(out) / f".{out.name}.lock"


def owner_record() -> dict:
    me = os.getpid()
    try:
        started = psutil.Process(me).create_time()
    except psutil.Error:
        started = None
    return {"pid": me, "host": socket.gethostname(), "started": started, "time": time.time()}


def describe(owner: dict | None) -> str:
    if not owner or "pid" not in owner:
        return "pid unknown"
    host = owner.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {owner['pid']}{where}"


def busy(out: Path, who: str) -> ResultsError:
    return ResultsError(
        f"another resilience process is writing {out} ({who}); wait for it or choose another --out"
    )


def _read_lock_owner(fd: int) -> dict | None:
    for _ in range(10):  # the holder writes its record just after taking the lock
        text = os.pread(fd, 4096, 0)
        if text:
            try:
                return json.loads(text)
            except ValueError:
                return None
        time.sleep(0.02)
    return None


def holder(out: Path) -> str | None:
    """Who holds the lock of ``out``, when another process does (None: nobody, or we)."""
    lock = lock_path(out)
    if os.path.abspath(lock) in _HELD:
        return None
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return describe(_read_lock_owner(fd))
    except OSError:  # no locks on this file system
        return None
    finally:
        os.close(fd)
    return None


def _acquire(lock: Path, out: Path) -> int | None:
    deadline = time.monotonic() + 0.5  # a probe (check_output) holds it for microseconds
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() < deadline:
                os.close(fd)
                time.sleep(0.05)
                continue
            owner = _read_lock_owner(fd)
            os.close(fd)
            raise busy(out, describe(owner)) from None
        except OSError as exc:  # some network file systems have no locks
            os.close(fd)
            log.warning(
                "%s: cannot lock (%s); another process writing it at the same time "
                "would not be noticed",
                lock,
                exc.strerror,
            )
            return None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if not same:  # its last holder removed it meanwhile: lock the file there now
            os.close(fd)
            continue
        with contextlib.suppress(OSError):  # the record is informative only
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner_record()).encode(), 0)
        return fd


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``.OUT.lock`` while the block runs, so that one process at a time writes
    ``out``; raises ResultsError naming the holder when another process has it.
    Re-entrant within a process. The lock file is removed on release."""
    out = Path(out)
    lock = lock_path(out)
    key = os.path.abspath(lock)
    held = _HELD.get(key)
    if held is not None:
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    fd = _acquire(lock, out)
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        if fd is not None:
            # removed while still held: a process waiting on this file sees it is gone
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            os.close(fd)


# ----------------------------------------------------------------------------- temporaries


def new_temporary(out: Path, kind: str) -> Path:
    """A new ``.OUT.<kind>-XXXXXXXX/`` holding this process's owner record."""
    folder = parent(out)
    while True:
        path = folder / f".{out.name}.{kind}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    _ACTIVE.add(os.path.abspath(path))
    try:
        (path / OWNER).write_text(json.dumps(owner_record()))
    except BaseException:
        discard(path)
        raise
    return path


def discard(path: Path) -> None:
    """Remove a temporary: its marker first (so a half-removed one is never taken for whole),
    its owner record last (so a half-removed one can still be proven dead)."""
    try:
        with contextlib.suppress(FileNotFoundError):
            (path / COMPLETE).unlink()
        with contextlib.suppress(FileNotFoundError):
            for child in list(path.iterdir()):
                if child.name == OWNER:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        (path / OWNER).unlink(missing_ok=True)
        path.rmdir()
    except OSError as exc:
        log.warning("could not remove %s (%s)", path, exc.strerror or exc)
    finally:
        _ACTIVE.discard(os.path.abspath(path))


def _temporaries(out: Path) -> list[tuple[Path, str]]:
    kinds = {f".{out.name}.partial-": "partial", f".{out.name}.old-": "old"}
    try:
        names = os.listdir(parent(out))
    except OSError:
        return []
    return [
        (parent(out) / name, kind)
        for name in sorted(names)
        for prefix, kind in kinds.items()
        if name.startswith(prefix)
    ]


def _read_owner(path: Path) -> dict | None:
    try:
        owner = json.loads((path / OWNER).read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _owner_dead(owner: dict, path: Path) -> bool:
    """True only when provable: the owner ran on this host and its process is gone (or a
    zombie, or its pid now belongs to a process started later)."""
    if owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return os.path.abspath(path) not in _ACTIVE
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
        started = owner.get("started")
        return started is not None and abs(proc.create_time() - float(started)) > 1.0
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, TypeError, ValueError):
        return False


def _dead_temporaries(out: Path) -> list[tuple[Path, str, dict]]:
    dead = []
    for path, kind in _temporaries(out):
        if os.path.abspath(path) in _ACTIVE or path.is_symlink() or not path.is_dir():
            continue  # ours, or not of this format (e.g. an older version's): left alone
        owner = _read_owner(path)
        if owner is None:
            # created but killed before its owner record was written (we hold the lock, so
            # nobody is creating it now); rmdir removes it only if it is empty
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        if _owner_dead(owner, path):
            dead.append((path, kind, owner))
    return dead


def _whole(path: Path, out: Path) -> bool:
    return (path / COMPLETE).exists() and os.path.lexists(path / out.name)


def recoverable(out: Path) -> bool:
    return any(
        _whole(path, out) for path, _ in _temporaries(out) if os.path.abspath(path) not in _ACTIVE
    )


def tidy(out: Path) -> None:
    """Holding the lock of ``out``: when ``out`` is missing, move a whole result left by an
    interrupted replace into place (the finished new one, else the old one); then remove
    the temporaries of dead writers."""
    dead = _dead_temporaries(out)
    if not os.path.lexists(out):
        # the newest finished new result first, then the newest old one
        whole = sorted(
            (t for t in dead if _whole(t[0], out)),
            key=lambda t: (t[1] == "partial", float(t[2].get("time") or 0)),
            reverse=True,
        )
        for path, kind, _ in whole:
            inner = path / out.name
            problem = store_problem(inner) if is_result(inner) else "not a whole result"
            if problem is not None:
                log.warning("not restoring %s: %s", path, problem)
                continue
            os.rename(inner, out)
            what = "the new result of a replace" if kind == "partial" else "the previous result"
            log.warning("%s was missing: restored %s left by an interrupted write", out, what)
            break
    for path, _, owner in dead:
        log.info("removing %s, left by %s (no longer running)", path.name, describe(owner))
        discard(path)
