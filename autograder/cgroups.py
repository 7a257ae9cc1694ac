"""A control group per kernel: limits that hold for its whole process tree.

``RLIMIT_AS`` caps one process's memory and a process-count limit is shared by
every process of a user, so a submission that starts child processes could
use several times the memory it was given, and a fork bomb in one kernel
would starve the others. A cgroup caps the kernel and everything it starts
together: memory (no swap), number of processes, and CPU time (one core).

Linux offers cgroups in two layouts, v1 (a hierarchy per controller under
``/sys/fs/cgroup/<controller>``) and v2 (one unified hierarchy); both are
handled. Creating one needs root; :meth:`Cgroup.create` returns ``None``
where that is not possible, and the grader then relies on the per-process
limits alone (the instructor guide says so).
"""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")  # v1: one hierarchy each, in this order


def _version() -> int:
    return 2 if (ROOT / "cgroup.controllers").is_file() else 1


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


@dataclass
class Cgroup:
    """One cgroup (v2) or one per controller (v1), holding one kernel's processes."""

    folders: list[Path]
    version: int
    memory: Path | None = None  # the folder whose counters tell whether it ran out of memory

    @classmethod
    def create(cls, name: str, *, memory_mb: int, processes: int, cpus: float = 1.0):
        """A new cgroup with these limits, or ``None`` where cgroups cannot be made."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"cgroup name must be letters, digits, _ . -, got {name!r}")
        memory = str(memory_mb * 1024 * 1024)
        period = 100_000
        quota = str(int(cpus * period))
        if _version() == 2:
            parent = ROOT / "rnn-grader"
            try:
                parent.mkdir(exist_ok=True)
                for controller in CONTROLLERS:
                    _write(ROOT / "cgroup.subtree_control", f"+{controller}")
                    _write(parent / "cgroup.subtree_control", f"+{controller}")
                folder = parent / name
                folder.mkdir()
            except OSError:
                return None
            if not (folder / "cgroup.procs").exists():  # not a cgroup file system after all
                folder.rmdir()
                return None
            ok = _write(folder / "memory.max", memory) and _write(
                folder / "pids.max", str(processes)
            )
            _write(folder / "memory.swap.max", "0")
            _write(folder / "cpu.max", f"{quota} {period}")
            group = cls([folder], 2, folder)
            if not ok:
                group.destroy()
                return None
            return group
        folders = []
        try:
            for controller in CONTROLLERS:
                if not (ROOT / controller / "cgroup.procs").exists():
                    raise OSError(f"no {controller} cgroup hierarchy")
                folder = ROOT / controller / "rnn-grader" / name
                folder.mkdir(parents=True)
                folders.append(folder)
        except OSError:
            cls(folders, 1).destroy()
            return None
        group = cls(folders, 1, folders[0])
        ok = _write(folders[0] / "memory.limit_in_bytes", memory)
        _write(folders[0] / "memory.memsw.limit_in_bytes", memory)  # no swap, where supported
        ok = ok and _write(folders[1] / "pids.max", str(processes))
        _write(folders[2] / "cpu.cfs_period_us", str(period))
        _write(folders[2] / "cpu.cfs_quota_us", quota)
        if not ok:
            group.destroy()
            return None
        return group

    @property
    def procs_files(self) -> list[str]:
        """Where a process writes its pid to join (what the kernel launcher does)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def attach(self, pid: int | None = None) -> None:
        """Put a process (by default this one) and its future children in the cgroup."""
        for procs in self.procs_files:
            Path(procs).write_text(str(pid or os.getpid()))

    def ran_out_of_memory(self) -> bool:
        """Whether the kernel's processes together hit the memory limit and one was killed."""
        if self.memory is None:
            return False
        events = self.memory / ("memory.events" if self.version == 2 else "memory.oom_control")
        try:
            text = events.read_text()
        except OSError:
            return False
        match = re.search(r"^oom_kill (\d+)$", text, re.M)
        if match:
            return int(match[1]) > 0
        try:  # old v1 kernels: any allocation refused at the limit
            return int((self.memory / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def members(self) -> list[int]:
        found = set()
        for procs in self.procs_files:
            try:
                found |= {int(p) for p in Path(procs).read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def destroy(self) -> None:
        """Kill whatever is left in it, then remove it."""
        for _ in range(50):
            left = self.members()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                pass


ORPHAN = re.compile(r"job-(\d+)-")  # the worker names each job's cgroup job-<its pid>-...


def running(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie does not (it only waits to be reaped, which an
    orphan's reaper may never do)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def sweep_orphans(killed: int | None = None, wait: float = 5.0) -> list[str]:
    """Destroy the job cgroups whose grader process is gone, and what is left in them.

    A grader that dies (killed with its Celery worker, say) cannot remove its kernel's
    cgroup; its kernel dies with it, but a process caught starting at that moment (inside
    bubblewrap, before it watches its parent) can be left, asleep. Whoever sees a grader
    die sweeps at once (``killed``: that grader's pid, waited for up to ``wait`` seconds, as
    its SIGKILL may still be on its way); every grader also sweeps before it starts. Returns
    the names of the groups it removed.
    """
    if killed is not None:
        deadline = time.monotonic() + wait
        while running(killed) and time.monotonic() < deadline:
            time.sleep(0.01)
    version = _version()
    parents = (
        [ROOT / "rnn-grader"]
        if version == 2
        else [ROOT / controller / "rnn-grader" for controller in CONTROLLERS]
    )
    names = set()
    for parent in parents:
        try:
            names |= {folder.name for folder in parent.iterdir() if folder.is_dir()}
        except OSError:
            continue
    swept = []
    for name in sorted(names):
        match = ORPHAN.match(name)
        if match is None or running(int(match[1])):
            continue
        folders = [parent / name for parent in parents if (parent / name).is_dir()]
        Cgroup(folders, version).destroy()
        swept.append(name)
    return swept
