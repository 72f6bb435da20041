"""What a stored result is: its formats (.zarr, .nc), the completeness attribute, and the
look at a path that says whether it holds a resilience result (metadata only)."""

from __future__ import annotations

import json
from pathlib import Path

from resilience.errors import ResultsError

FORMATS = {".zarr": "zarr", ".nc": "netcdf"}
# Zarr format 2: its string dtypes and consolidated metadata are stable specifications
# (format 3 marks both as unstable extensions), so results stay readable elsewhere.
ZARR_FORMAT = 2

#: Dataset attribute written last into a stored result: the store is whole and holds every
#: chunk, so a missing chunk file is damage, not a chunk of fill values left out.
COMPLETE_ATTR = "resilience_complete"


def output_format(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ResultsError(
            f"{path}: unknown result format {Path(path).suffix!r}; use .zarr (default) or .nc"
        )
    return fmt


def parent(out: Path) -> Path:
    """The folder of ``out`` ("." for a bare name)."""
    return out.parent if str(out.parent) else Path(".")


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
            import h5py  # only for a NetCDF result; xarray's h5netcdf engine loads it anyway

            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
    except Exception:  # unreadable, not JSON, not HDF5: not a result
        return False
    return "seed" in attrs and "strategies_json" in attrs
