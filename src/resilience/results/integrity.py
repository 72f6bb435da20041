"""Is a stored result whole and readable? Chunk-presence checks of the completeness marker,
decoding every chunk to name an unreadable one, and ``reading``, which turns a read error
into one that names the file, the variable and the chunk.

A stored Zarr result holds every chunk (fill-value-only ones too) and carries
``resilience_complete`` in its consolidated metadata, written last: ``store_problem``
finds a missing chunk of such a result. Results without the marker (older versions, other
software, which may leave fill-value chunks out) are not checked.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

from resilience.errors import ResultsError
from resilience.results.formats import COMPLETE_ATTR, output_format

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
#: errors that are the machine's answer (a full disk, no permission), not a damaged input
_NOT_READING = (*NO_SPACE, errno.EACCES, errno.EPERM, errno.EROFS)


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


def store_problem(path: Path) -> str | None:
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
                continue  # a missing chunk is store_problem's to report
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
