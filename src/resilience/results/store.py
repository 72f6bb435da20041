"""Result files: formats, atomic writes, opening and validating stored results.

Every result is written inside a temporary sibling and moved into place only when complete,
so a failed or interrupted run leaves nothing at ``out`` and an existing result untouched:

- one writer per ``out``: ``.OUT.lock`` beside it is held (``fcntl.flock``) for the whole
  write, and a second writer is refused with the first one's pid;
- the result is written in ``.OUT.partial-XXXXXXXX/OUT``, next to an owner record
  (``owner.json``: pid, host, start time) and, once whole, a ``complete`` marker;
- it is moved to ``out`` only if nothing appeared there meanwhile (or, with ``overwrite``,
  what is there is a resilience result); a replace first moves the old result into
  ``.OUT.old-XXXXXXXX/`` (with its own owner record and marker), then deletes it;
- the next writer of ``out`` removes the temporaries of writers that are provably dead,
  and, when ``out`` is missing, finishes (or undoes) a replace killed between its two
  renames; so does ``open_results`` of a missing result.

A stored Zarr result holds every chunk (fill-value-only ones too) and carries
``resilience_complete`` in its consolidated metadata, written last: ``open_results``
refuses one with a missing chunk. docs/results-format.md, "Files beside a result", says
what may remain beside a result.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import itertools
import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import dask
import psutil
import xarray as xr

from resilience.errors import ResultsError

log = logging.getLogger(__name__)

FORMATS = {".zarr": "zarr", ".nc": "netcdf"}
# Zarr format 2: its string dtypes and consolidated metadata are stable specifications
# (format 3 marks both as unstable extensions), so results stay readable elsewhere.
ZARR_FORMAT = 2

#: Dataset attribute written last into a stored result: the store is whole and holds every
#: chunk, so a missing chunk file is damage, not a chunk of fill values left out.
COMPLETE_ATTR = "resilience_complete"

_OWNER = "owner.json"  # in a temporary: who made it
_COMPLETE = "complete"  # in a temporary: the result in it is whole
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NOT_READING = (*_NO_SPACE, errno.EACCES, errno.EPERM, errno.EROFS)

# os.pwrite, for the NetCDF writer; a test replaces it to fill the disk mid-file
_pwrite = os.pwrite


def output_format(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ResultsError(
            f"{path}: unknown result format {Path(path).suffix!r}; use .zarr (default) or .nc"
        )
    return fmt


def _parent(out: Path) -> Path:
    return out.parent if str(out.parent) else Path(".")


def check_output(out: Path, overwrite: bool = False) -> None:
    """Refuse an ``out`` that cannot take a new result: unknown format, a dangling symbolic
    link, a folder that does not exist, another process writing it, an existing result
    without ``overwrite``, or (even with it) something that is not a resilience result.
    The one such check."""
    out = Path(out)
    _check_target(out)
    if not os.path.lexists(out) and _recoverable(out):
        with output_lock(out):
            _tidy(out)
    if out.exists():
        if not overwrite:
            raise ResultsError(f"{out} already exists; pass --overwrite to replace it")
        _check_replaceable(out)


def _check_target(out: Path) -> None:
    """check_output without the look at what is at ``out``."""
    output_format(out)
    if out.is_symlink() and not out.exists():
        raise ResultsError(
            f"{out} is a symbolic link to {os.readlink(out)}, which does not exist; "
            f"remove the link or give the path it should point to"
        )
    parent = _parent(out)
    if not parent.exists():
        raise ResultsError(f"{parent} does not exist; create the directory first")
    holder = _holder(out)
    if holder is not None:
        raise _busy(out, holder)


def _check_replaceable(out: Path) -> None:
    if not is_result(out):
        raise ResultsError(f"{out} is not a resilience result; refusing to replace it")


def is_result(path: Path) -> bool:
    """Whether ``path`` holds a resilience result (its metadata has ``seed`` and
    ``strategies_json``); reads metadata only."""
    path = Path(path)
    try:
        if output_format(path) == "zarr":
            if not path.is_dir():
                return False
            attrs = json.loads((path / ".zmetadata").read_text())["metadata"][".zattrs"]
        else:
            if not path.is_file():
                return False
            import h5py

            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
    except Exception:  # unreadable, not JSON, not HDF5: not a result
        return False
    return "seed" in attrs and "strategies_json" in attrs


# ----------------------------------------------------------------------------- the lock

#: locks this process holds: lock path -> [fd or None, depth] (re-entrant: a merge holds
#: it and calls write_dataset, which takes it again)
_HELD: dict[str, list] = {}
#: temporaries this process is using now (never cleaned as another's leftovers)
_ACTIVE: set[str] = set()


def _lock_path(out: Path) -> Path:
    return _parent(out) / f".{out.name}.lock"


def _owner_record() -> dict:
    me = os.getpid()
    try:
        started = psutil.Process(me).create_time()
    except psutil.Error:
        started = None
    return {"pid": me, "host": socket.gethostname(), "started": started, "time": time.time()}


def _describe(owner: dict | None) -> str:
    if not owner or "pid" not in owner:
        return "pid unknown"
    host = owner.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {owner['pid']}{where}"


def _busy(out: Path, holder: str) -> ResultsError:
    return ResultsError(
        f"another resilience process is writing {out} ({holder}); "
        f"wait for it or choose another --out"
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


def _holder(out: Path) -> str | None:
    """Who holds the lock of ``out``, when another process does (None: nobody, or we)."""
    lock = _lock_path(out)
    if os.path.abspath(lock) in _HELD:
        return None
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe(_read_lock_owner(fd))
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
            raise _busy(out, _describe(owner)) from None
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
            os.pwrite(fd, json.dumps(_owner_record()).encode(), 0)
        return fd


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``.OUT.lock`` while the block runs, so that one process at a time writes
    ``out``; raises ResultsError naming the holder when another process has it.
    Re-entrant within a process. The lock file is removed on release."""
    out = Path(out)
    lock = _lock_path(out)
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


def _new_temporary(out: Path, kind: str) -> Path:
    """A new ``.OUT.<kind>-XXXXXXXX/`` holding this process's owner record."""
    parent = _parent(out)
    while True:
        path = parent / f".{out.name}.{kind}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    _ACTIVE.add(os.path.abspath(path))
    try:
        (path / _OWNER).write_text(json.dumps(_owner_record()))
    except BaseException:
        _discard(path)
        raise
    return path


def _discard(path: Path) -> None:
    """Remove a temporary: its marker first (so a half-removed one is never taken for whole),
    its owner record last (so a half-removed one can still be proven dead)."""
    try:
        with contextlib.suppress(FileNotFoundError):
            (path / _COMPLETE).unlink()
        with contextlib.suppress(FileNotFoundError):
            for child in list(path.iterdir()):
                if child.name == _OWNER:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        (path / _OWNER).unlink(missing_ok=True)
        path.rmdir()
    except OSError as exc:
        log.warning("could not remove %s (%s)", path, exc.strerror or exc)
    finally:
        _ACTIVE.discard(os.path.abspath(path))


def _temporaries(out: Path) -> list[tuple[Path, str]]:
    kinds = {f".{out.name}.partial-": "partial", f".{out.name}.old-": "old"}
    try:
        names = os.listdir(_parent(out))
    except OSError:
        return []
    return [
        (_parent(out) / name, kind)
        for name in sorted(names)
        for prefix, kind in kinds.items()
        if name.startswith(prefix)
    ]


def _read_owner(path: Path) -> dict | None:
    try:
        owner = json.loads((path / _OWNER).read_text())
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
    return (path / _COMPLETE).exists() and os.path.lexists(path / out.name)


def _recoverable(out: Path) -> bool:
    return any(
        _whole(path, out) for path, _ in _temporaries(out) if os.path.abspath(path) not in _ACTIVE
    )


def _tidy(out: Path) -> None:
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
            problem = _store_problem(inner) if is_result(inner) else "not a whole result"
            if problem is not None:
                log.warning("not restoring %s: %s", path, problem)
                continue
            os.rename(inner, out)
            what = "the new result of a replace" if kind == "partial" else "the previous result"
            log.warning("%s was missing: restored %s left by an interrupted write", out, what)
            break
    for path, _, owner in dead:
        log.info("removing %s, left by %s (no longer running)", path.name, _describe(owner))
        _discard(path)


def _appeared(out: Path) -> ResultsError:
    return ResultsError(
        f"{out} appeared while this result was written (by another program); it was left "
        f"as it is and the new result discarded; pass --overwrite to replace it"
    )


def _move_into_place(tmp: Path, out: Path) -> None:
    if not os.path.lexists(out):
        # never over something that appeared since the check: a hard link refuses an
        # existing name, a folder cannot be renamed onto a file or a non-empty folder
        try:
            if tmp.is_dir():
                os.rename(tmp, out)
                return
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system
                os.rename(tmp, out)
            else:
                os.unlink(tmp)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise _appeared(out) from exc
            raise
        return
    old = _new_temporary(out, "old")
    (old / _COMPLETE).touch()  # what is moved in below is whole: a rename is atomic
    os.rename(out, old / out.name)
    try:
        os.rename(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):  # if this fails too, the next writer restores it
            os.rename(old / out.name, out)
            _discard(old)
        raise
    _discard(old)


def _no_space(out: Path, exc: OSError) -> ResultsError:
    return ResultsError(
        f"{out}: no space left on the device ({exc.strerror or exc}); nothing was written "
        f"and an earlier result there is untouched"
    )


@contextlib.contextmanager
def atomic_output(out: Path, overwrite: bool = False):
    """Yield a temporary path beside ``out``; move it into place only on success.

    Holds the lock of ``out`` throughout (a second writer gets a ResultsError), removes the
    leftovers of dead writers first, and refuses at the end an ``out`` that appeared
    meanwhile (unless ``overwrite`` and it is a resilience result). On any exception
    (including KeyboardInterrupt / SystemExit from SIGTERM) the temporary is removed and an
    existing ``out`` is left untouched; a full disk raises ResultsError.
    """
    out = Path(out)
    _check_target(out)  # refuse a bad target before creating anything
    with output_lock(out):
        _tidy(out)  # even when refused below: the leftovers of the dead are of no use
        check_output(out, overwrite)
        try:
            wrapper = _new_temporary(out, "partial")
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise _no_space(out, exc) from exc
            raise
        tmp = wrapper / out.name
        try:
            yield tmp
            problem = _store_problem(tmp)
            if problem is not None:
                raise ResultsError(problem)
            (wrapper / _COMPLETE).touch()
            if os.path.lexists(out):
                if not overwrite:
                    raise _appeared(out)
                _check_replaceable(out)
            _move_into_place(tmp, out)
        except OSError as exc:
            _discard(wrapper)
            if exc.errno in _NO_SPACE:
                raise _no_space(out, exc) from exc
            raise
        except BaseException:
            _discard(wrapper)
            raise
        _discard(wrapper)


# ----------------------------------------------------------------------------- checking


def _zmetadata(path: Path) -> dict | None:
    try:
        meta = json.loads((path / ".zmetadata").read_text())["metadata"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) else None


def _arrays(meta: dict) -> Iterator[tuple[str, dict]]:
    for key, array in sorted(meta.items()):
        if key.endswith("/.zarray"):
            yield key[: -len("/.zarray")], array


def _chunk_keys(array: dict) -> Iterator[str]:
    shape, chunks = array["shape"], array["chunks"]
    sep = array.get("dimension_separator") or "."
    if not shape:
        yield "0"
        return
    counts = [-(-s // c) for s, c in zip(shape, chunks, strict=True)]
    for index in itertools.product(*map(range, counts)):
        yield sep.join(map(str, index))


def _missing_chunk(folder: Path, array: dict) -> str | None:
    if (array.get("dimension_separator") or ".") == ".":
        try:
            present = set(os.listdir(folder))
        except OSError:
            present = set()
        return next((k for k in _chunk_keys(array) if k not in present), None)
    return next((k for k in _chunk_keys(array) if not (folder / k).is_file()), None)


def _store_problem(path: Path) -> str | None:
    """What makes the stored result at ``path`` incomplete (a missing chunk), or None.
    Only results carrying the completeness marker are checked: others (older versions,
    other software) may leave fill-value chunks out."""
    path = Path(path)
    if output_format(path) != "zarr":
        return None
    meta = _zmetadata(path)
    if meta is None or COMPLETE_ATTR not in meta.get(".zattrs", {}):
        return None
    for name, array in _arrays(meta):
        missing = _missing_chunk(path / name, array)
        if missing is not None:
            return (
                f"{path}: incomplete result: variable {name} is missing chunk {missing}; "
                f"rerun or restore it"
            )
    return None


def unreadable_part(path: Path) -> str | None:
    """Decode every chunk of the stored result at ``path``; say which one cannot be read
    (truncated, garbled), or None. Slow (reads everything): for locating an error."""
    path = Path(path)
    try:
        if output_format(path) == "zarr":
            return _unreadable_zarr(path)
        return _unreadable_netcdf(path)
    except ResultsError:
        raise
    except Exception as exc:
        return f"{path}: corrupt result ({type(exc).__name__}: {exc}); rerun or restore it"


def _unreadable_zarr(path: Path) -> str | None:
    import numcodecs
    import numpy as np

    meta = _zmetadata(path)
    if meta is None:
        return f"{path}: corrupt result: no readable .zmetadata; rerun or restore it"
    for name, array in _arrays(meta):
        compressor = array.get("compressor")
        codecs = [numcodecs.get_codec(c) for c in array.get("filters") or []]
        compressor = numcodecs.get_codec(compressor) if compressor else None
        dtype = np.dtype(array["dtype"]) if isinstance(array["dtype"], str) else None
        size = None
        if dtype is not None and dtype.kind != "O":
            size = int(np.prod(array["chunks"])) * dtype.itemsize
        for key in _chunk_keys(array):
            chunk = path / name / key
            if not chunk.is_file():
                continue  # a missing chunk is _store_problem's to report
            try:
                data = chunk.read_bytes()
                if compressor is not None:
                    data = compressor.decode(data)
                for codec in reversed(codecs):
                    data = codec.decode(data)
                got = memoryview(np.ascontiguousarray(data)).nbytes
                if size is not None and got != size:
                    raise ValueError(f"{got} bytes decoded, {size} expected")
            except Exception as exc:
                return (
                    f"{path}: corrupt result: variable {name} chunk {key} cannot be read "
                    f"({type(exc).__name__}: {exc}); rerun or restore it"
                )
    return None


def _unreadable_netcdf(path: Path) -> str | None:
    import h5py

    try:
        f = h5py.File(path, "r")
    except Exception as exc:
        return f"{path}: corrupt result ({exc}); rerun or restore it"
    with f:
        names: list[str] = []
        f.visit(names.append)
        for name in names:
            obj = f[name]
            if isinstance(obj, h5py.Dataset):
                try:
                    obj[()]
                except Exception as exc:
                    return (
                        f"{path}: corrupt result: variable {name} cannot be read ({exc}); "
                        f"rerun or restore it"
                    )
    return None


@contextlib.contextmanager
def reading(*paths: str | os.PathLike) -> Iterator[None]:
    """Turn an error while reading the stored results at ``paths`` (a truncated or garbled
    chunk: blosc, zarr or HDF5 errors) into a ResultsError naming the file, the variable
    and the chunk. Wrap the ``.load()``/``.compute()``/writes that read them."""
    try:
        yield
    except ResultsError:
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in _NOT_READING:
            raise  # the machine's answer (a full disk, no permission), not a damaged input
        for path in paths:
            problem = unreadable_part(Path(path))
            if problem is not None:
                raise ResultsError(problem) from exc
        raise


def open_results(path: str | os.PathLike, chunks="auto") -> xr.Dataset:
    """Open a result written by ``resilience run`` (.zarr or .nc), lazily (dask-backed).

    A result whose write was interrupted mid-replace is restored first; one with a missing
    chunk is refused (``ResultsError``).
    """
    path = Path(path)
    if not os.path.lexists(path):
        _restore_missing(path)
    if not path.exists():
        if path.is_symlink():
            raise ResultsError(
                f"{path}: no such result (a symbolic link to {os.readlink(path)}, "
                f"which does not exist)"
            )
        raise ResultsError(f"{path}: no such result")
    fmt = output_format(path)
    try:
        if fmt == "zarr":
            ds = xr.open_zarr(path, consolidated=True, chunks=chunks)
        else:
            ds = xr.open_dataset(path, engine="h5netcdf", chunks=chunks)
    except Exception as exc:  # a directory or file that is not a result
        raise ResultsError(f"{path}: not a readable result ({exc})") from exc
    if "strategy" not in ds.dims or "seed" not in ds.attrs:
        raise ResultsError(f"{path}: not a resilience result (no strategy dimension or seed)")
    problem = _store_problem(path)
    if problem is not None:
        raise ResultsError(problem)
    ds.attrs.pop(COMPLETE_ATTR, None)  # a property of the file, not of the data
    return ds


def _restore_missing(path: Path) -> None:
    if path.suffix.lower() not in FORMATS or not _recoverable(path):
        return
    try:
        with output_lock(path):
            _tidy(path)
    except ResultsError as exc:  # a writer holds it: it will put its result there
        raise ResultsError(f"{path}: no such result yet: {exc}") from None
    except OSError as exc:  # e.g. a read-only folder
        log.warning("%s: cannot restore it from its temporaries (%s)", path, exc.strerror)


def strategy_definitions(ds: xr.Dataset) -> dict:
    return json.loads(ds.attrs.get("strategies_json", "{}"))


# ----------------------------------------------------------------------------- writing


#: Elements per chunk of a written dataset (8 MiB of float64): few chunks for small
#: results (Zarr's per-chunk cost dominates them), bounded reads for large ones.
CHUNK_ELEMENTS = 2**20


def chunking(dims: Sequence[str], shape: Sequence[int]) -> tuple:
    """Chunks of one variable: whole trailing dimensions, then as many steps of the
    leading ones (path, strategy, sweep axes) as fit in CHUNK_ELEMENTS."""
    chunks = [1] * len(dims)
    size = 1
    for i in range(len(dims) - 1, -1, -1):
        take = max(1, min(shape[i], CHUNK_ELEMENTS // size))
        chunks[i] = take
        size *= take
        if take < shape[i]:
            break
    return tuple(chunks)


def finish_zarr(path: Path) -> None:
    """Mark a fully written Zarr store whole: the completeness attribute, then the
    consolidated metadata that readers use (written last)."""
    import zarr

    attrs_file = Path(path) / ".zattrs"
    attrs = json.loads(attrs_file.read_text()) if attrs_file.exists() else {}
    attrs[COMPLETE_ATTR] = 1
    staged = attrs_file.with_name(".zattrs.new")
    staged.write_text(json.dumps(attrs, indent=4, ensure_ascii=True))
    os.replace(staged, attrs_file)
    zarr.consolidate_metadata(str(path))


class _FailSafeFile(io.RawIOBase):
    """The file HDF5 writes a NetCDF result through (h5py's file-object driver); it never
    reports a write error to HDF5.

    HDF5 cannot be trusted after a failed write: closing such a file (xarray always closes
    it) crashed the interpreter on a full disk. So the first failed write is recorded,
    what HDF5 writes after it is kept in memory (it may read it back) so that HDF5 ends
    normally, and the caller raises the recorded error once HDF5 is done.
    """

    def __init__(self, path: Path):
        super().__init__()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._pos = 0
        self._size = 0
        self._kept: list[tuple[int, bytes]] = []  # (offset, data) written after the error
        self.error: OSError | None = None

    def readable(self):
        return True

    def writable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self):
        return self._pos

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self._size - self._pos))
        if n == 0:
            return 0
        data = os.pread(self._fd, n, self._pos)
        view[: len(data)] = data
        view[len(data) : n] = bytes(n - len(data))
        lo, hi = self._pos, self._pos + n
        for offset, kept in self._kept:
            a, b = max(lo, offset), min(hi, offset + len(kept))
            if a < b:
                view[a - lo : b - lo] = kept[a - offset : b - offset]
        self._pos += n
        return n

    def write(self, buffer):
        data = memoryview(buffer).cast("B")
        if self.error is None:
            try:
                done = 0
                while done < len(data):
                    wrote = _pwrite(self._fd, data[done:], self._pos + done)
                    if wrote <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    done += wrote
            except OSError as exc:
                self.error = exc
        if self.error is not None:
            self._kept.append((self._pos, bytes(data)))
        self._pos += len(data)
        self._size = max(self._size, self._pos)
        return len(data)

    def truncate(self, size=None):
        size = self._pos if size is None else size
        if self.error is None:
            try:
                os.ftruncate(self._fd, size)
            except OSError as exc:
                self.error = exc
        self._kept = [(o, d[: size - o]) for o, d in self._kept if o < size]
        self._size = size
        return size

    def flush(self):
        pass

    def close(self):
        if self.closed:
            return
        try:
            if self.error is None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    self.error = exc
        finally:
            os.close(self._fd)
            super().close()


def write_netcdf(ds: xr.Dataset, path: Path, encoding: dict | None = None) -> None:
    """Write ``ds`` to the NetCDF file ``path`` (h5netcdf), marked complete; a full disk
    raises OSError (ENOSPC) without leaving HDF5 in a state that crashes the process."""
    path = Path(path)
    ds = ds.assign_attrs({COMPLETE_ATTR: 1})
    need = int(ds.nbytes)
    free = shutil.disk_usage(_parent(path)).free
    if need > free:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device: the file needs about {need / 2**20:.1f} MiB, "
            f"{free / 2**20:.1f} MiB are free",
        )
    target = _FailSafeFile(path)
    try:
        ds.to_netcdf(target, engine="h5netcdf", encoding=encoding)
    finally:
        target.close()
    if target.error is not None:
        raise target.error


def write_dataset(ds: xr.Dataset, out: Path, *, overwrite: bool = False) -> Path:
    """Write a (lazy) dataset to ``out`` (.zarr or .nc) atomically, on local threads."""
    out = Path(out)
    fmt = output_format(out)
    ds = ds.copy()
    ds.attrs.pop(COMPLETE_ATTR, None)  # written last, by finish_zarr / write_netcdf
    for var in ds.variables.values():
        var.encoding = {}
    encoding: dict[str, dict] = {}
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            encoding[name] = {"dtype": str}
        chunks = chunking(var.dims, var.shape)
        ds[name] = var.chunk(dict(zip(var.dims, chunks, strict=True)))
        if fmt == "zarr":
            encoding.setdefault(name, {})["chunks"] = chunks
    # the cluster of a run may still be the default dask scheduler: files are written here
    with atomic_output(out, overwrite=overwrite) as tmp, dask.config.set(scheduler="threads"):
        if fmt == "zarr":
            ds.to_zarr(
                tmp,
                mode="w",
                encoding=encoding,
                consolidated=False,
                zarr_format=ZARR_FORMAT,
                write_empty_chunks=True,
            )
            finish_zarr(tmp)
        else:
            write_netcdf(ds, tmp, encoding=encoding)
    return out
