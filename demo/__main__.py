"""`make demo`: the whole product on the embedded profile — SQLite, a filesystem broker, the bundled fake
Jira, and real Celery worker and beat processes — then the admin, /graphql and /api/ until Ctrl-C.

Every process it starts is stopped on the way out, whatever happens: Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "var" / "demo"
PROJECTS = {"DEMO": 300, "OPS": 120}


class Supervisor:
    """Starts child processes in their own process groups and stops them all on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, args: list[str], *, stdout: int | IO[bytes] | None = None
    ) -> subprocess.Popen[bytes]:
        log = stdout if stdout is not None else (DEMO_DIR / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT if stdout is None else None,
            start_new_session=True,
        )
        self.children.append((name, proc))
        return proc

    def stop_all(self) -> None:
        # TERM goes to each group leader only: a Celery worker stops its own pool (a TERM to the pool
        # processes too makes its warm shutdown hang until the 20 s kill). Whatever is left in a group
        # afterwards is killed, so nothing outlives the demo.
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop in 20 s, killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_log(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(
        f"demo: {path.stem} did not start; its log {path} ends with:\n"
        + path.read_text(errors="replace")[-3000:]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-serve", action="store_true", help="Stop after the sync (used by the tests)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the demo data set size")
    args = parser.parse_args(argv)

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "JIRA_BUDGET_BACKEND")
    }
    env.update(
        JIRAPLUS_VAR_DIR=str(DEMO_DIR),
        DJANGO_DEBUG="true",
        PYTHONUNBUFFERED="1",
        JIRAPLUS_ALLOW_PRIVATE_JIRA="true",  # the bundled fake Jira listens on loopback
    )
    os.environ.clear()
    os.environ.update(env)
    python = sys.executable
    supervisor = Supervisor(env)
    # TERM (kill, systemd, docker stop) and HUP (the terminal closed) would end Python without unwinding,
    # orphaning every child in its own session: make them unwind like Ctrl-C does.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop_requested)
    try:
        return _run(args, supervisor, python)
    except (KeyboardInterrupt, StopRequested) as stop:
        print(f"\ndemo: stopping ({'SIGINT' if isinstance(stop, KeyboardInterrupt) else stop})")
        return 0
    finally:
        # A second signal must not cut the clean-up short (stop_all kills whatever ignores TERM for 20 s).
        for stop_signal in (signal.SIGINT, *STOP_SIGNALS):
            signal.signal(stop_signal, signal.SIG_IGN)
        supervisor.stop_all()


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """A stop signal other than SIGINT arrived."""


def _stop_requested(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def _run(args: argparse.Namespace, supervisor: Supervisor, python: str) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiraplus.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    database = settings.DATABASES["default"]["NAME"]
    print(f"demo: embedded profile — SQLite at {database}, broker {settings.CELERY_BROKER_URL}")
    call_command("migrate", verbosity=0)

    projects = {key: max(5, int(n * args.scale)) for key, n in PROJECTS.items()}
    fake = supervisor.start(
        "fake-jira",
        [
            python,
            "-m",
            "fakejira",
            "--port",
            "0",
            "--seed",
            "42",
            "--projects",
            ",".join(f"{k}={n}" for k, n in projects.items()),
            "--time-zone",
            "Europe/Berlin",
        ],
        stdout=subprocess.PIPE,
    )
    assert fake.stdout is not None
    info = json.loads(fake.stdout.readline() or b"{}")
    if "base_url" not in info:
        raise SystemExit("demo: the fake Jira did not start")
    print(f"demo: fake Jira serving {sum(projects.values())} issues at {info['base_url']}")

    worker = supervisor.start(
        "worker",
        [
            python,
            "-m",
            "celery",
            "-A",
            "jiraplus",
            "worker",
            "-Q",
            ",".join(settings.CELERY_QUEUES_ALL),
            "-c",
            "2",
            "-l",
            "INFO",
        ],
    )
    beat = supervisor.start(
        "beat",
        [
            python,
            "-m",
            "celery",
            "-A",
            "jiraplus",
            "beat",
            "-l",
            "INFO",
            "--schedule",
            str(DEMO_DIR / "beat-schedule"),
        ],
    )
    _wait_for_log(DEMO_DIR / "worker.log", "ready.", worker)
    _wait_for_log(DEMO_DIR / "beat.log", "beat: Starting", beat)
    print(f"demo: Celery worker (pid {worker.pid}) and beat (pid {beat.pid}) are running; logs in {DEMO_DIR}")

    user_model = get_user_model()
    if not user_model.objects.filter(username=settings.DEMO_USERNAME).exists():
        user_model.objects.create_superuser(
            settings.DEMO_USERNAME, "demo@example.com", settings.DEMO_PASSWORD
        )

    os.environ["JIRA_API_TOKEN"] = info["api_token"]
    call_command("jira_site", "add", "--name", "demo", "--url", info["base_url"], "--email", info["email"])
    for key in projects:
        call_command("jira_project", "add", "--site", "demo", "--key", key)

    started = time.monotonic()
    for key in projects:
        call_command("sync_project", key, "--full", "--wait")
    elapsed = time.monotonic() - started
    with urllib.request.urlopen(f"{info['base_url']}/_fake/stats") as response:  # noqa: S310 - loopback
        stats = json.load(response)
    _print_stored(elapsed, stats["total"])

    if args.no_serve:
        return 0
    server = supervisor.start(
        "web", [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"]
    )
    _wait_for_log(DEMO_DIR / "web.log", "Quit the server", server)
    print(
        f"\ndemo: serving http://127.0.0.1:{args.port}/admin/ , /graphql and /api/ — "
        f"log in as {settings.DEMO_USERNAME} / {settings.DEMO_PASSWORD}. Ctrl-C stops everything."
    )
    while all(proc.poll() is None for _, proc in supervisor.children):
        time.sleep(0.5)
    failed = [name for name, proc in supervisor.children if proc.poll() is not None]
    print(f"demo: {', '.join(failed)} stopped unexpectedly; see {DEMO_DIR}", file=sys.stderr)
    return 1


def _print_stored(elapsed: float, jira_requests: int) -> None:
    from sync.models import Comment, Issue, JiraUser, Sprint, Worklog

    print(
        f"\ndemo: stored {Issue.live.count()} issues, {Comment.objects.count()} comments, "
        f"{Worklog.objects.count()} worklogs, {Sprint.objects.count()} sprints, "
        f"{JiraUser.objects.count()} users in {elapsed:.1f}s with {jira_requests} Jira requests"
    )


if __name__ == "__main__":
    sys.exit(main())
