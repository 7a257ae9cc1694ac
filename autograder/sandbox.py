"""Run a student's code where it cannot see the course, other students, or the network.

Each kernel runs under bubblewrap (Debian package ``bubblewrap``) in fresh
user, mount, PID, network, IPC and UTS namespaces. Its file system holds only
what Python needs, read-only (``/usr``, ``/etc``, the Python installation,
the virtual environment and the ``course_pkg`` sources), a private ``/tmp``,
and one writable folder of its own. The course folder with the solutions,
the gradebook and the other submissions is simply not there. When the
grader runs as root, the kernel is started as ``nobody`` (uid 65534) first,
so it has no privilege on the host even through the user namespace.

Where namespaces cannot be made (a Docker container such as Gradescope's,
which runs the grader as root without the right to mount), the *user*
isolation (:func:`user_argv`) is the fallback: the kernel runs as a uid of its
own (:func:`job_uid`, so no other process on the host shares its limits) with a
clean environment, the student edition's ``course_pkg`` on its path
and a home folder of its own; everything of the grader's is root's and
closed to it (the caller sees to that: :mod:`autograder.gradescope`). Its
processes are capped by ``RLIMIT_NPROC`` and their memory together by a
cgroup where one can be made, else by :class:`MemoryWatch`.

Resource limits: per process (``setrlimit`` before the sandbox starts),
address space, file size and no core dumps; for the kernel's whole process
tree, a cgroup (:mod:`autograder.cgroups`) caps memory, processes and CPU;
its writable space is a size-capped ``/tmp``. Wall-clock limits per cell and
per submission are enforced by the grader.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import sys
from pathlib import Path

NOBODY = 65534
# The user isolation runs each job's kernel as a uid of its own from this range, found in no
# /etc/passwd: the uid's process count (RLIMIT_NPROC) and its signals are then the job's
# alone, not shared with every other kernel on the host that runs as nobody.
JOB_UIDS = range(1_900_000_000, 1_900_000_000 + 2**24)


def job_uid() -> int:
    """A fresh uid for one job's kernel (user isolation). Drawn from the OS, not from the
    job's seed: it names a process owner and affects no result."""
    import secrets

    return JOB_UIDS[secrets.randbelow(len(JOB_UIDS))]


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap`, "
            "or pass --no-sandbox to grade without isolation (trusted submissions only)"
        )
    return path


def readonly_paths() -> list[str]:
    """Host folders the kernel may read: the system, Python, the venv, course_pkg."""
    import course_pkg

    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, str(Path(course_pkg.__file__).parent)]
    seen, result = set(), []
    for p in paths:
        real = os.path.realpath(p)
        for candidate in (p, real):
            if candidate not in seen and os.path.exists(candidate):
                seen.add(candidate)
                result.append(candidate)
    return result


def sandbox_argv(
    workdir: Path,
    command: list[str],
    *,
    disk_mb: int = 256,
    drop_to_nobody: bool | None = None,
    package=None,
) -> list:
    """The command line that runs ``command`` inside the sandbox.

    ``workdir`` is bound as it is (the kernel's connection file and sockets);
    everything else the command may write goes to ``/tmp``, its working folder,
    a memory file system of ``disk_mb`` megabytes that vanishes with it.
    ``package``, a folder, is what ``import course_pkg`` finds inside (the
    student edition's package when grading); without it, the course's own.
    """
    # /tmp first: later binds may lie below it and must not be hidden by it
    size = str(disk_mb * 1024 * 1024)
    argv = [bwrap_path(), "--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    # bwrap would create the parents of a mount point with mode 0700, which an
    # unprivileged kernel could not traverse: create them 0755 first
    made = set()
    for path in [*readonly_paths(), str(workdir)]:
        for parent in reversed(Path(path).parents[:-1]):
            if str(parent) not in made and str(parent) not in ("/usr", "/etc"):
                made.add(str(parent))
                argv += ["--perms", "0755", "--dir", str(parent)]
    import course_pkg

    own = Path(course_pkg.__file__).parent
    for path in readonly_paths():
        if package is not None and path in (str(own), os.path.realpath(own)):
            argv += ["--ro-bind", str(package), path]  # the reference is not there to read
        else:
            argv += ["--ro-bind", path, path]
    for link, target in (
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
    ):
        if os.path.islink(link):
            argv += ["--symlink", target, link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
    argv += ["--bind", str(workdir), str(workdir), "--chdir", "/tmp"]
    if drop_to_nobody is None:
        drop_to_nobody = os.geteuid() == 0
    if drop_to_nobody:
        # As root, bwrap needs no user namespace; the command then drops to nobody
        # inside, so it has no privilege at all, not even over root's files.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        argv += ["--unshare-cgroup-try"]
    else:
        argv += ["--unshare-all"]  # an unprivileged user gets a user namespace
    argv += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in kernel_env("/tmp").items():
        argv += ["--setenv", key, value]
    if drop_to_nobody:
        command = [*_setpriv_to(NOBODY), *command]
    return [*argv, "--", *command]


def kernel_env(home: str) -> dict[str, str]:
    """The whole environment of a sandboxed kernel whose writable folder is ``home``."""
    return {
        "HOME": home,
        "PATH": f"{sys.prefix}/bin:/usr/bin:/bin",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_RUNTIME_DIR": f"{home}/.runtime",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
    }


def _setpriv_to(uid: int) -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise SandboxUnavailable("running as root needs setpriv (util-linux) to drop privileges")
    drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    # a new uid clears the parent-death signal: set it again, for the uid's own process
    return [
        *drop,
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--pdeathsig=KILL",
        "--",
    ]


def user_argv(command: list[str], *, home: Path, package=None, uid: int = NOBODY) -> list[str]:
    """``command`` as ``uid`` (the job's own, see :func:`job_uid`), with a clean environment:
    the *user* isolation.

    ``home`` (made here, ``uid``'s) is its home and temporary folder; ``package``, a
    ``course_pkg`` folder, is what ``import course_pkg`` finds first. Only root can drop
    to another uid.
    """
    if os.geteuid() != 0:
        raise SandboxUnavailable("the user isolation runs kernels as another uid: it needs root")
    if uid == 0:
        raise ValueError("the user isolation needs a uid other than root's (0), got 0")
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, uid, uid)
    os.chmod(home, 0o700)
    env = {**kernel_env(str(home)), "TMPDIR": str(home)}
    if package is not None:
        env["PYTHONPATH"] = str(Path(package).parent)
    assignments = [f"{key}={value}" for key, value in env.items()]
    return [*_setpriv_to(uid), "/usr/bin/env", "-i", *assignments, *command]


def limit_resources(memory_mb: int, max_file_mb: int = 64, processes: int | None = None) -> None:
    """Called in the child before exec: cap memory and file sizes, no core dumps, and (for
    the user isolation, where no PID namespace or cgroup holds the kernel) processes."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = max_file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _processes_below(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _uid_and_memory(pid: int) -> tuple[int, int]:
    """A process's uid and its proportional share of memory (PSS, bytes): pages it shares
    with others (a forked child's, say) count once over all of them, as in a cgroup."""
    try:
        uid = Path(f"/proc/{pid}").stat().st_uid
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return -1, 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return uid, int(match[1]) * 1024 if match else 0


class MemoryWatch:
    """What a memory cgroup does, where none can be made (the user isolation).

    Every ``every`` seconds, the memory of all of ``uid``'s processes below this one (the
    kernel and what it started; shared pages counted once) is added up, and while it
    exceeds the limit the largest is killed, as the kernel's OOM killer would. This process
    becomes their *subreaper*, so a process whose parent died stays below it. Same
    interface as :class:`autograder.cgroups.Cgroup`.
    """

    procs_files: tuple[str, ...] = ()

    def __init__(self, memory_mb: int, uid: int = NOBODY, every: float = 0.05):
        import ctypes
        import threading

        PR_SET_CHILD_SUBREAPER = 36
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.limit = memory_mb * 1024 * 1024
        self.uid = uid
        self.killed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)
        self._thread.start()

    def _kernel_processes(self) -> dict[int, int]:
        sizes = {}
        for pid in _processes_below(os.getpid()):
            uid, size = _uid_and_memory(pid)
            if uid == self.uid:
                sizes[pid] = size
        return sizes

    def _watch(self, every: float) -> None:
        import signal

        while not self._stop.wait(every):
            sizes = self._kernel_processes()
            if sum(sizes.values()) > self.limit:
                try:
                    os.kill(max(sizes, key=sizes.get), signal.SIGKILL)
                    self.killed += 1
                except ProcessLookupError:
                    pass

    def attach(self, pid: int | None = None) -> None:
        """Nothing to join: the watch follows the processes below this one."""

    def ran_out_of_memory(self) -> bool:
        return self.killed > 0

    def destroy(self) -> None:
        """Stop watching; kill whatever of the kernel's is left."""
        import signal

        self._stop.set()
        self._thread.join()
        for pid in self._kernel_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def lock_workdir(workdir: Path) -> None:
    """Once the kernel has made its sockets, it may write nothing more into its bound folder:
    the folder becomes root's (only possible, and only needed, when grading as root)."""
    if os.geteuid() == 0:
        os.chown(workdir, 0, 0)
        os.chmod(workdir, 0o755)


def prepare_workdir(workdir: Path, uid: int = NOBODY) -> None:
    """Create the kernel's writable folder, owned by the uid the kernel will run as."""
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, uid, uid)


def die_with_parent(parent: int | None) -> None:
    """Be killed when the process that started this one dies (a Celery worker killed
    mid-job, say): no grading goes on unobserved, and no kernel outlives its grader.
    ``parent``: the pid it must be, to catch a parent that died before this call."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)
