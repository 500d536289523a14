"""`make demo`'s engine on the embedded profile: SQLite, filesystem broker, real worker and beat processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.receivers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_the_demo_syncs_the_fake_jira_with_no_server_at_all():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JIRAPLUS_VAR_DIR")}
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--no-serve", "--scale", "0.1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "embedded profile" in output and "broker filesystem://" in output
    assert output.count("SUCCEEDED: ") == 2
    assert "demo: stored 42 issues" in output


def _descendants(root: int) -> dict[int, str]:
    """Every live process below ``root`` (children start their own sessions, so the tree, not the group)."""
    parents: dict[int, int] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ..., starttime (22nd)
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
            starts[int(entry.name)] = fields[19]
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = starts[pid]
                frontier.append(pid)
    return found


def _alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` still running (same pid and start time, not a zombie)."""
    left = {}
    for pid, start in processes.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            left[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    return left


@pytest.mark.integration
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_stops_the_serving_demo_and_every_process_it_started(stop_signal, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JIRAPLUS_VAR_DIR")}
    output_path = tmp_path / "demo.out"
    with output_path.open("wb") as output:
        demo = subprocess.Popen(
            [sys.executable, "-m", "demo", "--scale", "0.1", "--port", str(free_port())],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal for the test's own group must not reach it
        )
    children: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 240
        while "demo: serving" not in output_path.read_text():
            assert demo.poll() is None, output_path.read_text()[-4000:]
            assert time.monotonic() < deadline, output_path.read_text()[-4000:]
            time.sleep(0.5)
        children = _descendants(demo.pid)
        commands = " ".join(_alive(children).values())
        # fake Jira, the worker and its pool of 2, beat, the web server
        assert len(children) >= 6 and "fakejira" in commands and "runserver" in commands, commands
        assert " worker " in commands and " beat " in commands, commands

        stopped_at = time.monotonic()
        demo.send_signal(stop_signal)
        assert demo.wait(timeout=60) == 0, output_path.read_text()[-4000:]
        stop_seconds = time.monotonic() - stopped_at
        assert "demo: stopping" in output_path.read_text()
        assert _alive(children) == {}, f"left behind after {stop_seconds:.1f}s: {_alive(children)}"
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        for pid in _alive(children):  # what a failing demo left behind must not outlive the test
            os.kill(pid, signal.SIGKILL)
