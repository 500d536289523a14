"""The sync under faults, with real processes: workers killed, messages doubled, Redis and PostgreSQL
connections lost, Jira misbehaving. Each scenario ends with the same invariant check."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import current_app
from django.db import connection

from fakejira import FakeDataConfig, Fault
from sync import task_names as sync_task_names
from sync.jira.errors import RETRYABLE
from sync.models import SyncLog, SyncRun
from sync.services import runs
from tests.faults.invariants import assert_invariants, cursors, wait_until_quiet
from tests.fixtures.processes import ROOT, process_env
from tests.fixtures.sync import register, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

HOOKED = {"DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings"}


def data(**projects: int) -> FakeDataConfig:
    return FakeDataConfig(
        seed=5,
        projects=projects,
        heavy_comment_ratio=0.03,
        heavy_worklog_ratio=0.03,
        worklog_feed_lag_seconds=0,
    )


def test_a_worker_killed_after_a_batch_commits_but_before_its_ack_redelivers_as_a_no_op(
    tmp_path, fake_jira_factory, celery_processes
):
    marker = tmp_path / "kill-after-commit"
    marker.write_text("5")  # start, users, sprints, one issues page pass; the 5th step's process dies
    worker = celery_processes.worker(**HOOKED, FAULTS_KILL_AFTER_COMMIT=str(marker))
    fake = fake_jira_factory(data(ALPHA=300))
    (alpha,) = register(fake, ["ALPHA"])

    run = sync_and_wait(alpha, full=True, timeout=90)

    assert not marker.exists(), "the fault did not fire"
    assert run.status == "SUCCEEDED", run.error_message
    assert run.attempt == 1  # the redelivered message found its step committed: nothing was redone
    # The redelivery may come after the run's later steps have finished it: wait for it, not for the run.
    worker.wait_for("duplicate or stale delivery", timeout=30)
    assert fake.request_count("/rest/api/3/search/jql") == 4  # 3 pages + the id-only reconcile, no re-read
    assert_invariants([alpha], fake)


def test_a_step_that_kills_its_worker_every_time_stops_at_the_attempt_cap(
    fake_jira_factory, celery_processes
):
    poison = {**HOOKED, "FAULTS_POISON_ISSUES": "1", "SYNC_RUN_MAX_ATTEMPTS": "3"}
    celery_processes.beat(**poison)  # the reaper re-publishes each time the dead process's lease expires
    worker = celery_processes.worker(**poison)
    fake = fake_jira_factory(data(ALPHA=120))
    (alpha,) = register(fake, ["ALPHA"])

    run = sync_and_wait(alpha, full=True, timeout=120)

    assert (run.status, run.error_code, run.step) == ("FAILED", "POISON", "issues")
    assert run.attempt == 4  # three attempts died; the fourth delivery gave up instead of running it
    assert SyncLog.objects.filter(run=run, level="ERROR", details__code="POISON").count() == 1
    assert worker.proc.poll() is None  # the worker itself survived every crash of its pool process


def test_workers_killed_mid_batch_at_random_moments_lose_nothing(seed, fake_jira_factory, celery_processes):
    rng = random.Random(seed)
    celery_processes.beat()  # the reaper revives runs whose worker died holding the lease
    fake = fake_jira_factory(data(ALPHA=400, BETA=200))
    projects = register(fake, ["ALPHA", "BETA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.25, times=None))
    worker = celery_processes.worker(concurrency=2)
    run_ids = [runs.request_sync(project=p, full=True).run.id for p in projects]
    for _ in range(3):
        time.sleep(rng.uniform(0.4, 1.5))
        worker.kill()
        worker = celery_processes.worker(concurrency=2)
    fake.clear_faults()

    wait_until_quiet(projects, timeout=120, context=f"(seed {seed})")

    assert {SyncRun.objects.get(id=i).status for i in run_ids} == {"SUCCEEDED"}, f"seed {seed}"
    assert_invariants(projects, fake, context=f"(seed {seed})")


def test_the_same_step_delivered_twice_concurrently_applies_once(fake_jira_factory, celery_processes):
    celery_processes.worker(concurrency=2)
    celery_processes.worker(concurrency=2)
    fake = fake_jira_factory(data(ALPHA=250))
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.2, times=None))
    run = runs.request_sync(project=alpha, full=True).run
    for seq in range(8):  # every early step, published again while the original is in flight
        for _ in range(2):
            current_app.send_task(sync_task_names.RUN_STEP, args=[run.id, seq], queue="sync")
        time.sleep(0.15)

    done = wait_for_run(run.id, timeout=90)

    assert done.status == "SUCCEEDED" and done.attempt == 1
    assert SyncLog.objects.filter(run=done, level="INFO").count() == 1  # one summary: finished once
    assert_invariants([alpha], fake)


def request_from_cli(keys: list[str], env: dict[str, str]) -> None:
    """Ask for runs the way a person would, through the command, in processes using ``env``'s broker."""
    commands = [
        subprocess.Popen([sys.executable, "manage.py", "sync_project", key, "--full"], cwd=ROOT, env=env)
        for key in keys
    ]
    assert [command.wait(timeout=60) for command in commands] == [0] * len(keys)


def test_redis_lost_without_persistence_mid_run_every_run_still_finishes_exact(
    fake_jira_factory, celery_processes, private_redis
):
    broker = {"REDIS_URL": private_redis.url, "CELERY_BROKER_URL": private_redis.url}
    celery_processes.beat(**broker)
    celery_processes.worker(**broker)
    fake = fake_jira_factory(data(ALPHA=300, BETA=200, GAMMA=200))
    projects = register(fake, ["ALPHA", "BETA", "GAMMA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.4, times=None))
    request_from_cli([p.key for p in projects], process_env(**broker))
    deadline = time.monotonic() + 60
    while not SyncRun.objects.filter(issues_done__gt=0).exists():
        assert time.monotonic() < deadline, "no run made progress"
        time.sleep(0.05)
    queued = redis.Redis.from_url(private_redis.url).llen("sync")  # step messages waiting in the queue
    open_runs = SyncRun.objects.filter(status__in=["QUEUED", "RUNNING"]).count()

    private_redis.shutdown_nosave()  # every queued and unacked message is gone
    time.sleep(1)
    private_redis.start()
    fake.clear_faults()

    wait_until_quiet(projects, timeout=120)
    assert queued >= 1 and open_runs >= 2, "the scenario needs steps queued when Redis goes"
    # Beat also ticks the projects' default cron (*/15): a tick during a run is recorded as a skipped run.
    requested = SyncRun.objects.exclude(error_code="SKIPPED_OVERLAP")
    assert set(requested.values_list("status", flat=True)) == {"SUCCEEDED"}
    assert_invariants(projects, fake)


def terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_postgres_backends_terminated_mid_batch_roll_back_whole_and_are_retried(
    seed, fake_jira_factory, celery_processes
):
    rng = random.Random(seed)
    celery_processes.beat()
    celery_processes.worker()
    fake = fake_jira_factory(data(ALPHA=400, BETA=200))
    projects = register(fake, ["ALPHA", "BETA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.15, times=None))
    run_ids = [runs.request_sync(project=p, full=True).run.id for p in projects]
    terminated = 0
    for _ in range(6):
        time.sleep(rng.uniform(0.3, 0.9))
        terminated += terminate_other_backends()
    fake.clear_faults()

    wait_until_quiet(projects, timeout=120, context=f"(seed {seed})")

    assert terminated >= 3, f"seed {seed}: the worker's connections should have been hit"
    retried = SyncLog.objects.filter(details__code="DATABASE_ERROR").count()
    finished = {SyncRun.objects.get(id=i).status for i in run_ids}
    # A step retries a few times: a run whose step was hit more often than that fails as DATABASE_ERROR.
    assert finished <= {"SUCCEEDED", "FAILED"}
    for project in projects:
        if SyncRun.objects.filter(id__in=run_ids, project=project, status="FAILED").exists():
            failed = SyncRun.objects.get(id__in=run_ids, project=project)
            assert failed.error_code in {"DATABASE_ERROR", "POISON"}, failed.error_message
            assert sync_and_wait(project, full=True).status == "SUCCEEDED"
    assert retried + SyncRun.objects.filter(error_code="DATABASE_ERROR").count() >= 1, (
        f"seed {seed}: no kill landed inside a step"
    )
    assert_invariants(projects, fake, context=f"(seed {seed})")


def test_a_storm_of_jira_faults_ends_exact_or_classified_never_hangs_or_storms(
    seed, fake_jira_factory, celery_processes
):
    rng = random.Random(seed)
    # Short client timeouts make "slow" a read timeout; retries and step retries stay at their defaults.
    celery_processes.worker(JIRA_READ_TIMEOUT="1", JIRA_CONNECT_TIMEOUT="1")
    fake = fake_jira_factory(data(ALPHA=300, BETA=150))
    projects = register(fake, ["ALPHA", "BETA"])
    for project in projects:  # the cost of a clean full run, to bound the faulty one by
        assert sync_and_wait(project, full=True).status == "SUCCEEDED"
    fake.reset_counters()
    for project in projects:
        assert sync_and_wait(project, full=True).status == "SUCCEEDED"
    baseline = fake.request_count()
    kinds: list[dict[str, Any]] = [
        {"kind": "rate_limit", "retry_after": 1},
        {"kind": "server_error"},
        {"kind": "bad_gateway"},
        {"kind": "slow", "delay": 1.5},
        {"kind": "drop"},
        {"kind": "truncate"},
    ]
    fired = 0
    for spec in rng.sample(kinds, k=len(kinds)):
        times = rng.randint(1, 3)
        fired += times
        fake.add_fault(
            Fault(
                **spec,
                path=rng.choice(["/search/jql", "/rest/", "/comment", "/user"]),
                after=rng.randint(0, 12),
                times=times,
            )
        )
    fake.reset_counters()
    before = cursors(projects)
    started = time.monotonic()
    run_ids = [runs.request_sync(project=p, full=True).run.id for p in projects]

    wait_until_quiet(projects, timeout=120, context=f"(seed {seed})")

    elapsed = time.monotonic() - started
    faulty = list(SyncRun.objects.filter(id__in=run_ids))
    for run in faulty:
        assert run.status == "SUCCEEDED" or run.error_code in {str(c) for c in RETRYABLE}, (
            f"seed {seed}: run {run.id} ended {run.status} {run.error_code}"
        )
    # Every faulty answer costs at most a retry of its request and of what its step had fetched.
    assert fake.request_count() <= baseline + 3 * fired, f"seed {seed}: {fake.request_count()} requests"
    assert elapsed < 90, f"seed {seed}: took {elapsed:.0f}s"
    fake.clear_faults()
    for project in projects:  # a failed run loses nothing: the next one completes the data
        if SyncRun.objects.filter(id__in=run_ids, project=project, status="FAILED").exists():
            assert sync_and_wait(project).status == "SUCCEEDED"
    assert_invariants(projects, fake, before=before, context=f"(seed {seed})")


def change_something(data, rng: random.Random, key: str, issue_id: str) -> None:
    change = rng.randrange(5)
    if change == 0:
        data.update_issue(issue_id, summary=f"soak {rng.random()}")
    elif change == 1:
        data.add_comment(issue_id, "soak comment")
    elif change == 2:
        data.add_worklog(issue_id, 600)
    elif change == 3:
        data.add_issue(key, summary="soak issue")
    else:
        data.delete_issue(issue_id)


SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "40"))


def test_soak_ten_projects_with_random_changes_faults_and_crashes_then_quiescence(
    seed, fake_jira_factory, celery_processes, tmp_path: Path
):
    rng = random.Random(seed)
    keys = [f"P{n}" for n in range(10)]
    fake = fake_jira_factory(data(**{k: rng.randint(20, 60) for k in keys}))
    projects = register(fake, keys)
    celery_processes.beat()
    worker = celery_processes.worker(concurrency=2)
    injected: dict[str, int] = {}
    requested = 0
    deadline = time.monotonic() + SOAK_SECONDS
    while time.monotonic() < deadline:
        roll = rng.random()
        project = rng.choice(projects)
        issues = fake.data.export(project.key)
        if roll < 0.35:
            requested += 1
            runs.request_sync(project=project, full=rng.random() < 0.2)
        elif roll < 0.65 and issues:
            change_something(fake.data, rng, project.key, rng.choice(issues)["id"])
        elif roll < 0.9:
            kind = rng.choice(["rate_limit", "server_error", "drop", "truncate", "bad_gateway"])
            injected[kind] = injected.get(kind, 0) + 1
            fake.add_fault(Fault(kind=kind, retry_after=1 if kind == "rate_limit" else None, times=1))
        elif roll < 0.93:
            injected["worker_kill"] = injected.get("worker_kill", 0) + 1
            worker.kill()
            worker = celery_processes.worker(concurrency=2)
        time.sleep(rng.uniform(0.05, 0.3))
    fake.clear_faults()

    wait_until_quiet(projects, timeout=150, context=f"(seed {seed})")
    before = cursors(projects)
    for project in projects:  # quiescence: one last incremental run each must make everything exact
        assert sync_and_wait(project, timeout=90).status == "SUCCEEDED", f"seed {seed}"
    assert_invariants(projects, fake, before=before, context=f"(seed {seed})")
    statuses = list(SyncRun.objects.values_list("status", flat=True))
    print(
        f"soak: {SOAK_SECONDS:.0f}s, seed {seed}, {len(statuses)} runs ({statuses.count('SUCCEEDED')} "
        f"succeeded, {statuses.count('FAILED')} failed classified), {requested} requests coalesced or run, "
        f"faults {injected}, violations 0"
    )
