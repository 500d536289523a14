"""Benchmark: the read APIs under load. 20,000 issues synced from the fake Jira by a real Celery worker into
PostgreSQL, gunicorn serving, N concurrent clients for S seconds on

  * the GraphQL page of 100 issues with assignee, reporter, sprints, comments and worklogs, and
  * the REST issue list (100 per page),

each client asking for random pages (cursors collected beforehand), in four phases: ``uncached`` (the read
cache off: every request renders), ``cold`` (the cache, empty at the start), ``cached`` (after one pass over
every page) and ``churn`` (the cache while a committed change, as a sync batch makes, invalidates it every
5 s). Prints p50/p99 latency, throughput and SQL queries per request, rendered and cached (counted
in-process with Django's query capture).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/jp6 REDIS_URL=redis://127.0.0.1:6379/6
    .venv/bin/python -m bench.api_read                 # sync (once) and load
    .venv/bin/python -m bench.api_read --reuse         # keep the synced data of a previous run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.environment import prepare

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "LOAD"
CELERY = [sys.executable, "-m", "celery", "-A", "jiraplus"]

GRAPHQL_PAGE = """
query Page($after: String) {
  issues(projectKey: "LOAD", first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id key summary status priority issueType labels created updated
      assignee { accountId displayName } reporter { accountId displayName }
      sprints { id name state }
      comments { id author { accountId } body created }
      worklogs { id author { accountId } timeSpent started }
    } }
  }
}"""


def sync_issues(issues: int, concurrency: int) -> None:
    import redis
    from django.core.management import call_command

    from fakejira import FakeDataConfig, FakeJira
    from sync.services import runs, sites

    call_command("flush", "--noinput", verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    started = time.monotonic()
    with FakeJira(config=FakeDataConfig(seed=2026, projects={PROJECT: issues})) as fake:
        print(f"fake Jira generated {issues} issues in {time.monotonic() - started:.1f}s", flush=True)
        worker = subprocess.Popen(
            [*CELERY, "--quiet", "worker", "-Q", "sync", "-c", str(concurrency), "-l", "ERROR"],
            cwd=ROOT,
            env=dict(os.environ),
        )
        try:
            site = sites.site_add(name="bench", url=fake.base_url, email=fake.email, token=fake.api_token)
            project = sites.project_add(site=site, key=PROJECT)
            started = time.monotonic()
            run = runs.request_sync(project=project, full=True).run
            while not run.is_terminal:
                if worker.poll() is not None:
                    raise SystemExit(f"the Celery worker exited with {worker.returncode}")
                time.sleep(0.5)
                run.refresh_from_db()
            print(
                f"synced: {run.status} {run.counts} in {time.monotonic() - started:.1f}s",
                flush=True,
            )
            if run.status != "SUCCEEDED":
                raise SystemExit(f"sync failed: {run.error_code} {run.error_message}")
        finally:
            worker.terminate()
            worker.wait(timeout=60)


def api_token() -> str:
    from django.contrib.auth.models import User

    from access.tokens import token_create

    User.objects.get_or_create(username="bench-reader")
    return token_create(name="bench", username="bench-reader", scope_names=["read"], expires_at=None).secret


def queries_per_request(token: str) -> dict[str, int]:
    """The SQL statements one request of each kind runs, rendered and served from the read cache (test
    client, same middleware and views)."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from core import read_cache

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    requests_ = {
        "graphql": lambda: client.post("/graphql", {"query": GRAPHQL_PAGE}, content_type="application/json"),
        "rest": lambda: client.get(f"/api/projects/{PROJECT}/issues/?page_size=100"),
    }
    counts: dict[str, int] = {}
    read_cache.bump()
    for kind, request in requests_.items():
        with override_settings(READ_CACHE_SECONDS=0), CaptureQueriesContext(connection) as rendered:
            response = request()
        assert response.status_code == 200, response.content[:300]
        assert b'"errors"' not in response.content[:300], response.content[:300]
        counts[f"{kind} rendered"] = len(rendered)  # now: the next request empties the query log
        request()  # stores it
        with CaptureQueriesContext(connection) as cached:
            assert request()[read_cache.HEADER] == "HIT"
        counts[f"{kind} cached"] = len(cached)
    return counts


def collect_targets(base: str, token: str) -> tuple[list[str | None], list[str]]:
    """Every page's GraphQL cursor and REST URL, walked once before the clock starts."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    cursors: list[str | None] = [None]
    small = (
        'query($a: String) { issues(projectKey: "LOAD", first: 100, after: $a) {'
        " pageInfo { hasNextPage endCursor } } }"
    )
    while True:
        info = session.post(
            f"{base}/graphql", json={"query": small, "variables": {"a": cursors[-1]}}, timeout=60
        )
        page = info.json()["data"]["issues"]["pageInfo"]
        if not page["hasNextPage"]:
            break
        cursors.append(page["endCursor"])
    urls = [f"{base}/api/projects/{PROJECT}/issues/?page_size=100"]
    while True:
        nxt = session.get(urls[-1], timeout=60).json()["next"]
        if not nxt:
            break
        urls.append(nxt)
    return cursors, urls


def load(name: str, request: Any, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal failures
        session = requests.Session()
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = request(session)
            mine.append(time.perf_counter() - started)
            bad += not ok
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    result = {
        "name": name,
        "requests": len(ordered),
        "failures": failures,
        "rps": round(len(ordered) / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }
    print(json.dumps(result), flush=True)
    return result


def gunicorn(port: int, workers: int, **env: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "jiraplus.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, **env},
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return server
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def commit_a_change_every(seconds: float, stop: threading.Event) -> threading.Thread:
    """What a sync does to the read cache: a committed write to an issue every ``seconds``."""

    def churn() -> None:
        from django.db import connection

        from sync.models import Issue

        first = Issue.objects.filter(project__key=PROJECT).order_by("jira_id").first()
        assert first is not None
        while not stop.wait(seconds):
            Issue.objects.filter(id=first.id).update(summary=first.summary)
        connection.close()

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8706)
    parser.add_argument("--sync-concurrency", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep the issues synced by a previous run")
    parser.add_argument(
        "--phases",
        default="uncached,cold,cached,churn",
        help="uncached: READ_CACHE_SECONDS=0 (every request renders); cold: the read cache, empty at the "
        "start; cached: the read cache, warmed by one pass over every page; churn: warmed, while a change "
        "commits every --churn seconds",
    )
    parser.add_argument("--churn", type=float, default=5.0)
    args = parser.parse_args()
    # The data is kept (--reuse); sync_issues empties the database itself when it syncs anew.
    prepare(
        os.environ["DATABASE_URL"],
        os.environ["REDIS_URL"],
        empty=False,
        API_THROTTLE_USER_RATE="100000000/min",  # the benchmark measures the API, not the throttle
    )
    from django.db import connection

    from core import read_cache
    from sync.models import Issue

    if not (args.reuse and Issue.live.filter(project__key=PROJECT).count() == args.issues):
        sync_issues(args.issues, args.sync_concurrency)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load; plans depend on it
    token = api_token()
    queries = queries_per_request(token)
    print(f"SQL queries per request: {queries}", flush=True)

    base = f"http://127.0.0.1:{args.port}"
    headers = {"Authorization": f"Bearer {token}"}
    cursors: list[str | None] = []
    urls: list[str] = []

    def graphql_page(session: requests.Session, after: str | None) -> bool:
        body = {"query": GRAPHQL_PAGE, "variables": {"after": after}}
        response = session.post(f"{base}/graphql", json=body, headers=headers, timeout=60)
        return response.status_code == 200 and len(response.json()["data"]["issues"]["edges"]) > 0

    def rest_page(session: requests.Session, url: str) -> bool:
        response = session.get(url, headers=headers, timeout=60)
        return response.status_code == 200 and len(response.json()["results"]) > 0

    def graphql(session: requests.Session) -> bool:
        return graphql_page(session, random.choice(cursors))

    def rest(session: requests.Session) -> bool:
        return rest_page(session, random.choice(urls))

    results = []
    for phase in args.phases.split(","):
        env = {"READ_CACHE_SECONDS": "0"} if phase == "uncached" else {}
        server = gunicorn(args.port, args.workers, **env)
        try:
            if not cursors:
                found = collect_targets(base, token)
                cursors.extend(found[0])
                urls.extend(found[1])
            read_cache.bump()  # every phase starts with nothing cached
            if phase in ("cached", "churn"):
                started = time.monotonic()
                session = requests.Session()
                warm = [graphql_page(session, c) for c in cursors] + [rest_page(session, u) for u in urls]
                print(f"[{phase}] warm-up pass over {len(warm)} requests: {time.monotonic() - started:.1f}s")
            stop = threading.Event()
            if phase == "churn":
                commit_a_change_every(args.churn, stop)
            try:
                for name, request in (
                    ("graphql page of 100 issues with comments and worklogs", graphql),
                    ("rest issue list, 100 per page", rest),
                ):
                    results.append(load(f"[{phase}] {name}", request, args.clients, args.seconds))
            finally:
                stop.set()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.issues} issues, {args.clients} clients x {args.seconds:.0f}s, gunicorn -w {args.workers}, "
        f"{len(cursors)} pages; SQL queries per request {queries}"
    )
    return 0 if all(r["failures"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
