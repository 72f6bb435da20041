"""The package a stranger installs: the shipped examples and `resilience examples`, and
(slow) the built wheel working on its own, away from this source tree.

The slow test builds the wheel from a copy of the tree, installs it into a fresh virtual
environment, and runs ``resilience examples ex && resilience run ex/automotive.yaml`` from
an unrelated folder. The new environment borrows the third-party dependencies (numba,
xarray, dask, ...) from the environment running the tests through a ``.pth`` line — the
directory it names is not a site directory, so the editable install of resilience there
(its own ``.pth`` pointing at ``src/``) is *not* processed, and the only resilience the
new environment can import is the one from the wheel, which the test checks.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from resilience.cli import main
from resilience.cli.examples import shipped_examples

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "src" / "resilience" / "examples"
SHIPPED = [
    "automotive.yaml",
    "automotive-sweep.yaml",
    "automotive-optimize.yaml",
    "lean-levers.yaml",
    "two-tier.yaml",
    "risk_curves.ipynb",
]
#: what is not part of a source tree: at the top (environments, build output, results) ...
NOT_SOURCE_TOP = {".git", ".venv", "build", "dist", "results"}
#: ... and anywhere (caches, metadata of editable installs, result stores)
NOT_SOURCE = shutil.ignore_patterns(
    "*.egg-info",
    "__pycache__",
    "*.zarr",
    ".hypothesis",
    ".pytest_cache",
    ".benchmarks",
    ".ruff_cache",
    ".ipynb_checkpoints",
)


def _not_source(folder: str, names: list[str]) -> set[str]:
    skip = set(NOT_SOURCE(folder, names))
    if Path(folder) == REPO:
        skip |= NOT_SOURCE_TOP & set(names)  # src/resilience/results/ is source
    return skip


#: pip's words when the build dependencies cannot be downloaded
OFFLINE = (
    "No matching distribution found for setuptools",
    "Could not find a version that satisfies the requirement setuptools",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def examples_cli(*args):
    return CliRunner().invoke(main, ["examples", *map(str, args)], catch_exceptions=False)


# ----------------------------------------------------------------------------- examples


def test_the_examples_are_shipped_once():
    assert [f.name for f in shipped_examples()] == SHIPPED
    for name in SHIPPED:
        assert (EXAMPLES / name).is_file()
    # the repository holds one copy of each: none left in scenarios/ or notebooks/
    elsewhere = [
        p
        for folder in ("scenarios", "notebooks", "docs", "tests", "benchmarks")
        for p in (REPO / folder).rglob("*")
        if p.name in SHIPPED
    ]
    assert elsewhere == []


def test_examples_copies_every_file_and_says_what_next(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = examples_cli()
    assert result.exit_code == 0, result.output
    out = Path("resilience-examples")
    for name in SHIPPED:
        assert (out / name).read_bytes() == (EXAMPLES / name).read_bytes()
        assert f"wrote {out / name} " in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"Next: resilience run {out / 'automotive.yaml'} --paths 20000"
    )
    assert result.stderr == ""


def test_examples_into_a_named_folder_quotes_it_in_the_next_command(tmp_path):
    target = tmp_path / "my study" / "ex"
    result = examples_cli(target)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == sorted(SHIPPED)
    assert f"Next: resilience run '{target / 'automotive.yaml'}' --paths 20000" in result.stdout


def test_examples_never_overwrites(tmp_path):
    target = tmp_path / "ex"
    target.mkdir()
    mine = target / "two-tier.yaml"
    mine.write_text("my own edits\n")
    result = examples_cli(target)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {mine} already exists; remove it or choose another folder "
        "(resilience examples DIR)"
    ]
    assert mine.read_text() == "my own edits\n"
    assert sorted(p.name for p in target.iterdir()) == ["two-tier.yaml"]  # nothing written


def test_examples_into_a_file_is_a_usage_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    result = CliRunner().invoke(main, ["examples", str(target)])
    assert result.exit_code == 2  # click: DIR must be a folder
    assert "is a file" in result.stderr


# ----------------------------------------------------------------------------- the wheel


def _setuptools_can_build() -> bool:
    """Whether this environment's setuptools reads the pyproject (PEP 639 needs >= 77)."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 77


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env.update(extra)
    return env


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("env", _clean_env())
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    # a copy, so the build writes its build/ and egg-info there and not into the checkout
    shutil.copytree(REPO, source, ignore=_not_source)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist")]
    if _setuptools_can_build():
        cmd.append("--no-build-isolation")  # offline: the build backend is already here
    proc = _run([*cmd, str(source)])
    if proc.returncode != 0:
        if any(word in proc.stdout + proc.stderr for word in OFFLINE):
            pytest.skip(
                "cannot build the wheel: setuptools >= 77 is not installed here "
                "and PyPI cannot be reached"
            )
        pytest.fail(f"building the wheel failed:\n{proc.stdout}\n{proc.stderr}")
    (built,) = (tmp / "dist").glob("resilience-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_the_examples_and_not_the_validation_cases(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    # every module of the source tree is in the wheel
    modules = {
        p.relative_to(REPO / "src").as_posix() for p in (REPO / "src" / "resilience").rglob("*.py")
    }
    assert modules <= set(names), sorted(modules - set(names))
    for name in SHIPPED:
        assert f"resilience/examples/{name}" in names
    assert "resilience/py.typed" in names
    assert not [n for n in names if "validation" in n or n.startswith(("scenarios/", "tests/"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.slow
def test_a_fresh_environment_with_only_the_wheel_runs_the_examples(wheel, tmp_path):
    env_dir = tmp_path / "env"
    proc = _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    assert proc.returncode == 0, proc.stderr
    python = env_dir / "bin" / "python"
    proc = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    site_packages = Path(proc.stdout.strip())
    assert site_packages.is_relative_to(env_dir)
    # the dependencies, borrowed from this environment (see the module docstring)
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "_borrowed_dependencies.pth").write_text("\n".join(here) + "\n")
    # pip of this environment, run by the new interpreter: the command's #! is the new one
    proc = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env(PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = _run(
        [str(python), "-c", "import resilience; print(resilience.__file__)"], cwd=work, env=env
    )
    assert proc.returncode == 0, proc.stderr
    installed = Path(proc.stdout.strip())
    assert installed.is_relative_to(site_packages), installed
    assert not installed.is_relative_to(REPO / "src"), installed

    proc = _run(
        ["bash", "-c", "resilience examples ex && resilience run ex/automotive.yaml --paths 20000"],
        cwd=work,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote ex/automotive.yaml" in proc.stdout
    assert "Next: resilience run ex/automotive.yaml --paths 20000" in proc.stdout
    for name in SHIPPED:
        assert (work / "ex" / name).read_bytes() == (EXAMPLES / name).read_bytes()
    for word in ("jit", "jic", "regionalized", "hybrid", "fill_rate", "CVaR95"):
        assert word in proc.stdout
    assert "20,000 paths x 4 strategies" in proc.stdout

    proc = _run(
        ["resilience", "validate", "ex/automotive-sweep.yaml", "--scenario", "ex/automotive.yaml"],
        cwd=work,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK ex/automotive-sweep.yaml (sweep: 15 points")
    proc = _run(["resilience", "examples", "ex"], cwd=work, env=env)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "Error: ex/automotive.yaml already exists; remove it or choose another folder "
        "(resilience examples DIR)"
    ]
