"""A cgroup per kernel: real limits on this machine, and a clean fallback where there are none."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import cgroups
from autograder.cgroups import Cgroup


def test_a_cgroup_holds_its_limits_and_its_processes_and_goes_away():
    group = Cgroup.create("test-probe", memory_mb=64, processes=5)
    assert group is not None, "this machine (as CI's) can create cgroups: the grader relies on it"
    try:
        if group.version == 1:
            memory, pids = (
                group.folders[0] / "memory.limit_in_bytes",
                group.folders[1] / "pids.max",
            )
        else:
            memory, pids = (group.folders[0] / "memory.max", group.folders[0] / "pids.max")
        assert int(memory.read_text()) == 64 * 1024 * 1024 and pids.read_text().strip() == "5"
        # a process started inside may not start more than the limit allows
        code = (
            "import subprocess, sys\n"
            "started = []\n"
            "try:\n"
            "    for _ in range(20):\n"
            "        sleeper = [sys.executable, '-c', 'import time; time.sleep(30)']\n"
            "        started.append(subprocess.Popen(sleeper, stdout=-3, stderr=-3))  # DEVNULL\n"
            "except OSError:\n"
            "    pass\n"
            "print(len(started))\n"
        )
        inside = subprocess.run(
            [sys.executable, "-c", code], preexec_fn=group.attach, capture_output=True, text=True
        )
        assert 0 < int(inside.stdout) < 5, inside.stdout + inside.stderr
        assert len(group.members()) >= 1  # the sleepers it left behind
        assert not group.ran_out_of_memory()
    finally:
        group.destroy()
    time.sleep(0.1)
    assert group.members() == [] and not any(folder.exists() for folder in group.folders)


def test_where_there_are_no_cgroups_the_grader_falls_back(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)  # a plain folder, no cgroup file system
    assert Cgroup.create("job-1", memory_mb=64, processes=5) is None
    assert list(tmp_path.rglob("*")) == []  # and leaves nothing behind


def test_a_cgroup_name_is_checked():
    with pytest.raises(ValueError, match=r"cgroup name must be letters, digits, _ \. -, got 'a/b'"):
        Cgroup.create("a/b", memory_mb=64, processes=5)


def test_groups_of_graders_that_died_are_swept_with_what_they_left():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a grader's pid that no longer runs
    orphan = Cgroup.create(f"job-{gone.pid}-probe", memory_mb=64, processes=5)
    alive = Cgroup.create(f"job-{os.getpid()}-probe", memory_mb=64, processes=5)
    assert orphan is not None and alive is not None
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=orphan.attach
    )
    try:
        swept = cgroups.sweep_orphans()
        assert f"job-{gone.pid}-probe" in swept and f"job-{os.getpid()}-probe" not in swept
        assert sleeper.wait(timeout=10) == -9  # what it held was killed
        assert not any(folder.exists() for folder in orphan.folders)
        assert all(folder.exists() for folder in alive.folders)  # a live grader's is kept
    finally:
        sleeper.kill()
        sleeper.wait()
        alive.destroy()


def test_a_zombie_grader_counts_as_gone_and_one_being_killed_is_waited_for():
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # ended, never reaped
    deadline = time.monotonic() + 30
    while cgroups.running(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Path(f"/proc/{zombie.pid}").exists() and not cgroups.running(zombie.pid)
    assert cgroups.running(os.getpid())
    dying = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    groups = [
        Cgroup.create(f"job-{pid}-probe", memory_mb=64, processes=5)
        for pid in (zombie.pid, dying.pid)
    ]
    try:
        assert None not in groups, "this machine (as CI's) can create cgroups"
        swept = cgroups.sweep_orphans()
        assert f"job-{zombie.pid}-probe" in swept and f"job-{dying.pid}-probe" not in swept
        threading.Timer(0.3, dying.kill).start()  # its SIGKILL, on its way
        assert f"job-{dying.pid}-probe" in cgroups.sweep_orphans(killed=dying.pid)
        assert not any(folder.exists() for group in groups for folder in group.folders)
    finally:
        for process in (zombie, dying):
            process.kill()
            process.wait()
        for group in groups:
            if group is not None:
                group.destroy()  # nothing to do for a swept one
