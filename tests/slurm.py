"""A real single-node SLURM (slurmctld + slurmd + munged) for the cluster tests.

The recipe, checked on Debian 12: Debian's packages (installed with apt-get when
missing), a munge key and socket under a temporary directory, a one-node slurm.conf,
daemons started by hand and stopped by the PIDs in their pid files. :func:`start` raises
:class:`Unavailable` with the reason when it cannot be done here (not root, no apt-get,
no network, a timeout), so the tests skip with that reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "munged", "mungekey")
INSTALL_TIMEOUT = 240
START_TIMEOUT = 60


class Unavailable(RuntimeError):
    """SLURM cannot be started on this machine; the message says why."""


@dataclass
class Slurm:
    root: Path
    conf: Path
    pid_files: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def stop(self) -> None:
        """Signal every daemon we started (by its pid file), then wait for them."""
        pids = []
        for pid_file in self.pid_files:
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        for pid in pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie of ours counts as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _install() -> None:
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM is not installed and the tests are not root (no apt-get install)")
    if shutil.which("apt-get") is None:
        raise Unavailable("SLURM is not installed and there is no apt-get here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    try:
        res = subprocess.run(
            install, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
        )
        if res.returncode != 0:
            subprocess.run(
                ["apt-get", "update", "-q"], env=env, capture_output=True, timeout=INSTALL_TIMEOUT
            )
            res = subprocess.run(
                install, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"installing {' '.join(PACKAGES)} timed out") from None
    if res.returncode != 0 or not all(shutil.which(b) for b in BINARIES):
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["?"]
        raise Unavailable(f"cannot install {' '.join(PACKAGES)} with apt-get: {tail[0]}")


def _node_line(host: str) -> str:
    res = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("NodeName=")), "")
    if not line:
        raise Unavailable(f"slurmd -C printed no node line: {res.stderr.strip()}")
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    memory = max(256, int(int(fields.get("RealMemory", "1024")) * 0.9))
    keep = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    layout = " ".join(f"{k}={fields[k]}" for k in keep if k in fields)
    return f"NodeName={host} NodeAddr=127.0.0.1 {layout} RealMemory={memory} State=UNKNOWN"


def start(root: Path) -> Slurm:
    """Install if needed, start munged, slurmctld and slurmd under ``root``, wait for the
    node to be idle. The caller must call :meth:`Slurm.stop` (also after a failure here:
    the returned object is attached to the exception as ``slurm``)."""
    _install()
    host = socket.gethostname().split(".")[0]
    keys, sock_dir, state, spool, logs, run = (
        root / n for n in ("keys", "sock", "state", "spool", "log", "run")
    )
    for d in (keys, sock_dir, state, spool, logs, run):
        d.mkdir(parents=True, exist_ok=True)
    keys.chmod(0o700)
    sock_dir.chmod(0o755)
    root.chmod(0o755)
    conf = root / "slurm.conf"
    slurm = Slurm(root, conf, [run / "munged.pid", run / "slurmctld.pid", run / "slurmd.pid"])
    try:
        subprocess.run(
            ["mungekey", "-c", "-k", str(keys / "munge.key")],
            check=True,
            capture_output=True,
            timeout=30,
        )
        socket_path = sock_dir / "munge.socket"
        subprocess.run(
            [
                "munged",
                "-S",
                str(socket_path),
                "--key-file",
                str(keys / "munge.key"),
                "--log-file",
                str(logs / "munged.log"),
                "--pid-file",
                str(run / "munged.pid"),
                "--seed-file",
                str(keys / "munge.seed"),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        conf.write_text(
            "\n".join(
                [
                    "ClusterName=resilience-test",
                    f"SlurmctldHost={host}(127.0.0.1)",
                    "SlurmUser=root",
                    f"AuthInfo=socket={socket_path}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_CPU",
                    "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    f"StateSaveLocation={state}",
                    f"SlurmdSpoolDir={spool}",
                    f"SlurmctldLogFile={logs / 'slurmctld.log'}",
                    f"SlurmdLogFile={logs / 'slurmd.log'}",
                    f"SlurmctldPidFile={run / 'slurmctld.pid'}",
                    f"SlurmdPidFile={run / 'slurmd.pid'}",
                    _node_line(host),
                    f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        env = slurm.env
        for cmd in (["slurmctld", "-f", str(conf)], ["slurmd", "-f", str(conf), "-N", host]):
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
            if res.returncode != 0:
                raise Unavailable(f"{cmd[0]} did not start: {res.stderr.strip()}")
        deadline = time.monotonic() + START_TIMEOUT
        state_text = ""
        while time.monotonic() < deadline:
            res = slurm.run("sinfo", "-h", "-o", "%T", timeout=10)
            state_text = res.stdout.strip()
            if state_text.startswith("idle"):
                return slurm
            time.sleep(0.3)
        raise Unavailable(f"the SLURM node is not idle after {START_TIMEOUT} s ({state_text!r})")
    except (Unavailable, subprocess.SubprocessError, OSError) as exc:
        slurm.stop()
        if isinstance(exc, Unavailable):
            raise
        detail = getattr(exc, "stderr", None) or ""
        detail = detail.decode() if isinstance(detail, bytes) else detail
        raise Unavailable(f"cannot start SLURM here: {exc} {detail.strip()}".strip()) from exc
