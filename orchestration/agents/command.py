"""CODE, TEST and FIX: run the phase's configured command in a working directory, with a timeout.

The command gets a small environment (PATH, HOME, locale, ``ORCHESTRATION_COMMAND_ENV``; never the worker's
secrets) and sees the run through variables (``JP_PHASE``, ``JP_IDEMPOTENCY_KEY``,
``JP_INPUT_FILE`` holding the issue and previous phases' outputs as JSON, ...). A command's side effects
should be keyed on ``JP_IDEMPOTENCY_KEY``: a worker killed mid-command means the command runs again with
the same key. Once a command has finished, its result is saved in a marker file named after the key,
so a redelivery after that point replays the result instead of running the command twice.

Exit codes: ``ORCHESTRATION_TRANSIENT_EXIT_CODES`` (default 75, EX_TEMPFAIL) ask for a retry with
back-off; for TEST a JUnit XML report (``ORCHESTRATION_TEST_JUNIT_XML``), when written, decides success,
otherwise exit code 0 does.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from django.conf import settings

from orchestration.agents import (
    AgentContext,
    AgentTask,
    Cancelled,
    PermanentAgentError,
    PhaseResult,
    TransientAgentError,
)

OUTPUT_TAIL = 4000


def workdir_for(task: AgentTask) -> Path:
    return Path(
        settings.ORCHESTRATION_WORKDIR.format(
            issue_key=task.issue["key"], orchestration_id=task.orchestration_id
        )
    )


def _resolve_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


# Resolved before any fork: the child (see _die_with_parent) must not load libraries or take locks.
_PRCTL = _resolve_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the command gets SIGKILL if the worker process running it dies (no orphaned commands)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def junit_summary(path: Path) -> dict[str, Any]:
    """Counts and failed test names from a JUnit XML report (``testsuites`` or a single ``testsuite``)."""
    root = ET.parse(path).getroot()  # noqa: S314
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    failed = [
        f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
        for suite in suites
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    total = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return {"tests": total, "failed": len(failed), "skipped": skipped, "failed_tests": failed[:50]}


class CommandAgent:
    name = "command"

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult:
        command = settings.ORCHESTRATION_COMMANDS.get(task.phase, "")
        if not command:
            return PhaseResult(
                True,
                {"skipped": True},
                summary=f"no command configured for {task.phase} (ORCHESTRATION_{task.phase}_COMMAND)",
            )
        workdir = workdir_for(task)
        state = workdir / ".orchestration"
        state.mkdir(parents=True, exist_ok=True)
        stem = task.idempotency_key.replace(":", "_")
        marker = state / f"{stem}.result.json"
        if marker.exists():  # finished before a crash or lost lease: replay, don't run it again
            return self._result(task, json.loads(marker.read_text()), replayed=True)
        input_file = state / f"{stem}.input.json"
        input_file.write_text(json.dumps({"issue": task.issue, "previous": task.previous}, default=str))
        junit = workdir / settings.ORCHESTRATION_TEST_JUNIT_XML if task.phase == "TEST" else None
        if junit is not None and junit.exists():
            junit.unlink()  # a stale report must not decide this run
        log_path = state / f"{stem}.attempt{task.attempt}.log"
        exit_code = self._execute(
            command=command, task=task, ctx=ctx, workdir=workdir, input_file=input_file, log_path=log_path
        )
        output = log_path.read_text(errors="replace")[-OUTPUT_TAIL:]
        if exit_code in settings.ORCHESTRATION_TRANSIENT_EXIT_CODES:
            raise TransientAgentError(f"exit code {exit_code}: {output[-300:]}", code="COMMAND_TRANSIENT")
        saved: dict[str, Any] = {"exit_code": exit_code, "output_tail": output, "command": command}
        if junit is not None and junit.exists():
            try:
                saved["junit"] = junit_summary(junit)
            except (ET.ParseError, ValueError) as problem:
                raise PermanentAgentError(
                    f"unreadable JUnit report {junit}: {problem}", code="BAD_JUNIT"
                ) from None
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved))
        os.replace(tmp, marker)
        return self._result(task, saved, replayed=False)

    def _execute(
        self,
        *,
        command: str,
        task: AgentTask,
        ctx: AgentContext,
        workdir: Path,
        input_file: Path,
        log_path: Path,
    ) -> int:
        # Only what a command needs from the worker's environment: never its database URL or secret keys.
        passed = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", *settings.ORCHESTRATION_COMMAND_ENV}
        env = {
            **{name: value for name, value in os.environ.items() if name in passed},
            "JP_ORCHESTRATION_ID": str(task.orchestration_id),
            "JP_PHASE": task.phase,
            "JP_ITERATION": str(task.iteration),
            "JP_ATTEMPT": str(task.attempt),
            "JP_IDEMPOTENCY_KEY": task.idempotency_key,
            "JP_ISSUE_KEY": task.issue["key"],
            "JP_INPUT_FILE": str(input_file),
        }
        timeout = settings.ORCHESTRATION_COMMAND_TIMEOUT
        ends = time.monotonic() + timeout
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    shlex.split(command),
                    cwd=workdir,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: a timeout or cancel kills all of it
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - calls one pre-resolved libc function
                )
            except OSError as problem:  # a missing executable or an unusable working directory
                raise PermanentAgentError(
                    f"cannot run {command!r}: {problem}", code="COMMAND_NOT_RUNNABLE"
                ) from None
            try:
                while True:
                    try:
                        return process.wait(timeout=0.2)
                    except subprocess.TimeoutExpired:
                        pass
                    ctx.heartbeat()
                    if time.monotonic() > ends:
                        raise TransientAgentError(
                            f"{command!r} ran longer than {timeout:.0f}s", code="COMMAND_TIMEOUT"
                        )
            except (Cancelled, TransientAgentError):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise

    def _result(self, task: AgentTask, saved: dict[str, Any], *, replayed: bool) -> PhaseResult:
        junit = saved.get("junit")
        success = junit["failed"] == 0 if junit else saved["exit_code"] == 0
        outputs = {**saved, "replayed": replayed}
        if junit:
            summary = f"{junit['tests']} tests, {junit['failed']} failed"
        else:
            summary = f"exit code {saved['exit_code']}"
        return PhaseResult(
            success,
            outputs,
            artifacts=[{"name": f"{task.phase.lower()}-output.txt", "content": saved["output_tail"]}],
            summary=f"{task.phase}: {summary}" + (" (replayed)" if replayed else ""),
        )
