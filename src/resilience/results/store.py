"""Result files: atomic writes, opening stored results, and writing a finished dataset.

Every result is written inside a temporary sibling and moved into place only when complete,
so a failed or interrupted run leaves nothing at ``out`` and an existing result untouched:

- one writer per ``out``: ``.OUT.lock`` beside it is held for the whole write
  (:mod:`~resilience.results.locks`), and a second writer is refused with the first one's
  pid;
- the result is written in ``.OUT.partial-XXXXXXXX/OUT``, next to an owner record and,
  once whole, a ``complete`` marker;
- it is moved to ``out`` only if nothing appeared there meanwhile (or, with ``overwrite``,
  what is there is a resilience result); a replace first moves the old result into
  ``.OUT.old-XXXXXXXX/`` (with its own owner record and marker), then deletes it;
- the next writer of ``out`` removes the temporaries of writers that are provably dead,
  and, when ``out`` is missing, finishes (or undoes) a replace killed between its two
  renames; so does ``open_results`` of a missing result.

A stored Zarr result holds every chunk (fill-value-only ones too) and carries
``resilience_complete`` in its consolidated metadata, written last: ``open_results``
refuses one with a missing chunk (:mod:`~resilience.results.integrity`).
docs/results-format.md, "Files beside a result", says what may remain beside a result.

The formats, the lock and the integrity checks live in their own modules; every name
they define is importable from here too.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
from pathlib import Path

import dask
import xarray as xr

from resilience.errors import ResultsError
from resilience.results import integrity, locks
from resilience.results.chunks import (
    chunk_sizes,
    netcdf_encoding,
    variable_chunks,
    zarr_encoding,
)
from resilience.results.formats import (
    COMPLETE_ATTR,
    FORMATS,
    ZARR_FORMAT,
    is_result,
    output_format,
    parent,
)
from resilience.results.integrity import NO_SPACE, reading, store_problem, unreadable_part
from resilience.results.locks import (
    COMPLETE,
    OWNER,
    busy,
    describe,
    discard,
    holder,
    lock_path,
    new_temporary,
    output_lock,
    owner_record,
    recoverable,
    tidy,
)

__all__ = [
    "CHUNK_ELEMENTS",
    "COMPLETE",
    "COMPLETE_ATTR",
    "FORMATS",
    "NO_SPACE",
    "OWNER",
    "ZARR_FORMAT",
    "atomic_output",
    "busy",
    "check_output",
    "check_target",
    "describe",
    "discard",
    "finish_zarr",
    "holder",
    "is_result",
    "lock_path",
    "new_temporary",
    "open_results",
    "output_format",
    "output_lock",
    "owner_record",
    "parent",
    "reading",
    "recoverable",
    "store_problem",
    "strategy_definitions",
    "tidy",
    "unreadable_part",
    "write_dataset",
    "write_netcdf",
]

log = logging.getLogger(__name__)

# the names these had when they lived here (rebinding one here changes nothing there)
_parent = parent
_store_problem = store_problem
_NO_SPACE = NO_SPACE
_NOT_READING = integrity._NOT_READING
_zmetadata = integrity._zmetadata
_arrays = integrity._arrays
_chunk_keys = integrity._chunk_keys
_missing_chunk = integrity._missing_chunk
_unreadable_zarr = integrity._unreadable_zarr
_unreadable_netcdf = integrity._unreadable_netcdf
_OWNER = OWNER
_COMPLETE = COMPLETE
_HELD = locks._HELD
_ACTIVE = locks._ACTIVE
_lock_path = lock_path
_owner_record = owner_record
_describe = describe
_busy = busy
_read_lock_owner = locks._read_lock_owner
_holder = holder
_acquire = locks._acquire
_new_temporary = new_temporary
_discard = discard
_temporaries = locks._temporaries
_read_owner = locks._read_owner
_owner_dead = locks._owner_dead
_dead_temporaries = locks._dead_temporaries
_whole = locks._whole
_recoverable = recoverable
_tidy = tidy

# os.pwrite, for the NetCDF writer; a test replaces it to fill the disk mid-file
_pwrite = os.pwrite


def check_output(out: Path, overwrite: bool = False) -> None:
    """Refuse an ``out`` that cannot take a new result: unknown format, a dangling symbolic
    link, a folder that does not exist, another process writing it, an existing result
    without ``overwrite``, or (even with it) something that is not a resilience result.
    The one such check."""
    out = Path(out)
    check_target(out)
    if not os.path.lexists(out) and recoverable(out):
        with output_lock(out):
            tidy(out)
    if out.exists():
        if not overwrite:
            raise ResultsError(f"{out} already exists; pass --overwrite to replace it")
        _check_replaceable(out)


def check_target(out: Path) -> None:
    """check_output without the look at what is at ``out``: refuses a target that cannot
    take a result before anything (a lock, a temporary) is created beside it."""
    output_format(out)
    if out.is_symlink() and not out.exists():
        raise ResultsError(
            f"{out} is a symbolic link to {os.readlink(out)}, which does not exist; "
            f"remove the link or give the path it should point to"
        )
    folder = parent(out)
    if not folder.exists():
        raise ResultsError(f"{folder} does not exist; create the directory first")
    who = holder(out)
    if who is not None:
        raise busy(out, who)


_check_target = check_target  # its name when it was private


def _check_replaceable(out: Path) -> None:
    if not is_result(out):
        raise ResultsError(f"{out} is not a resilience result; refusing to replace it")


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
    old = new_temporary(out, "old")
    (old / COMPLETE).touch()  # what is moved in below is whole: a rename is atomic
    os.rename(out, old / out.name)
    try:
        os.rename(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):  # if this fails too, the next writer restores it
            os.rename(old / out.name, out)
            discard(old)
        raise
    discard(old)


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
    check_target(out)  # refuse a bad target before creating anything
    with output_lock(out):
        tidy(out)  # even when refused below: the leftovers of the dead are of no use
        check_output(out, overwrite)
        try:
            wrapper = new_temporary(out, "partial")
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise _no_space(out, exc) from exc
            raise
        tmp = wrapper / out.name
        try:
            yield tmp
            problem = store_problem(tmp)
            if problem is not None:
                raise ResultsError(problem)
            (wrapper / COMPLETE).touch()
            if os.path.lexists(out):
                if not overwrite:
                    raise _appeared(out)
                _check_replaceable(out)
            _move_into_place(tmp, out)
        except OSError as exc:
            discard(wrapper)
            if exc.errno in NO_SPACE:
                raise _no_space(out, exc) from exc
            raise
        except BaseException:
            discard(wrapper)
            raise
        discard(wrapper)


# ----------------------------------------------------------------------------- opening


def open_results(path: str | os.PathLike, chunks="auto") -> xr.Dataset:
    """Open a result written by ``resilience run`` (.zarr or .nc), lazily (dask-backed),
    with one chunk size per dimension (``ds.chunks``).

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
    problem = store_problem(path)
    if problem is not None:
        raise ResultsError(problem)
    ds.attrs.pop(COMPLETE_ATTR, None)  # a property of the file, not of the data
    if chunks is not None:
        # "auto" sizes each variable's dask chunks on its own: one size per dimension again
        ds = ds.unify_chunks()
    return ds


def _restore_missing(path: Path) -> None:
    if path.suffix.lower() not in FORMATS or not recoverable(path):
        return
    try:
        with output_lock(path):
            tidy(path)
    except ResultsError as exc:  # a writer holds it: it will put its result there
        raise ResultsError(f"{path}: no such result yet: {exc}") from None
    except OSError as exc:  # e.g. a read-only folder
        log.warning("%s: cannot restore it from its temporaries (%s)", path, exc.strerror)


def strategy_definitions(ds: xr.Dataset) -> dict:
    return json.loads(ds.attrs.get("strategies_json", "{}"))


# ----------------------------------------------------------------------------- writing


#: Elements per dask chunk of a result assembled from memory-mapped parts (8 MiB of
#: float64); the stored chunks are :func:`~resilience.results.chunks.chunk_sizes`'.
CHUNK_ELEMENTS = 2**20


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
    """Write ``ds`` to the NetCDF file ``path`` (h5netcdf), marked complete, compressed in
    the shared chunks unless ``encoding`` says otherwise; a full disk raises OSError
    (ENOSPC) without leaving HDF5 in a state that crashes the process."""
    path = Path(path)
    ds = ds.assign_attrs({COMPLETE_ATTR: 1})
    if encoding is None:
        encoding = netcdf_encoding(ds, chunk_sizes(ds))
    # no look at the free space first: compressed, the file's size is known only once
    # written; a full disk mid-file is recorded by _FailSafeFile and raised below
    target = _FailSafeFile(path)
    try:
        ds.to_netcdf(target, engine="h5netcdf", encoding=encoding)
    finally:
        target.close()
    if target.error is not None:
        raise target.error


def write_dataset(ds: xr.Dataset, out: Path, *, overwrite: bool = False) -> Path:
    """Write a (lazy) dataset to ``out`` (.zarr or .nc) atomically, on local threads, in
    the shared chunks of :func:`~resilience.results.chunks.chunk_sizes`."""
    out = Path(out)
    fmt = output_format(out)
    ds = ds.copy()
    ds.attrs.pop(COMPLETE_ATTR, None)  # written last, by finish_zarr / write_netcdf
    for var in ds.variables.values():
        var.encoding = {}
    chunks = chunk_sizes(ds)
    encoding = zarr_encoding(ds, chunks) if fmt == "zarr" else netcdf_encoding(ds, chunks)
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            encoding.setdefault(name, {})["dtype"] = str
        ds[name] = var.chunk(dict(zip(var.dims, variable_chunks(var, chunks), strict=True)))
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
