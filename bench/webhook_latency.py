"""Benchmark: a change in Jira -> signed webhook -> visible through GraphQL, p50 and p99 over N events.

    .venv/bin/python -m bench.webhook_latency                       # 200 events, 5 per second
    .venv/bin/python -m bench.webhook_latency --rate 20              # 200 events, 20 per second

Real parts: the fake Jira POSTs signed webhooks (from its own sender threads) to the app served by
gunicorn; one Celery worker re-reads the changed issues from the fake (waiting ones share a search); the
benchmark polls GraphQL (``issue(key:)``, up to 20 aliased per request) until the new summary shows.
Latency = from the change in the fake Jira to the first poll that sees it, with the default
WEBHOOK_COALESCE_SECONDS (1 s) included.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench.environment import prepare

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret-0123456789abcdef"
MAX_IN_FLIGHT = 20  # the API's alias limit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout}s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jiraplus_bench_hooks")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    # The poller is not what is measured: no API throttle for it.
    prepare(args.database, args.redis, API_THROTTLE_USER_RATE="1000000/min")

    from django.contrib.auth.models import User

    from access.tokens import token_create
    from fakejira import FakeDataConfig, FakeJira
    from sync.services import runs, sites, webhooks

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    with FakeJira(config=FakeDataConfig(seed=2024, projects={"HOOK": max(args.events, 50)})) as fake:
        worker = ["-m", "celery", "-A", "jiraplus", "worker", "-Q", "sync", "-c", "1", "-l", "ERROR"]
        web = f"-m gunicorn jiraplus.wsgi -b 127.0.0.1:{port} -w 2 --threads 4 --log-level warning".split()
        children = [subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env) for argv in (worker, web)]
        try:
            wait_http(f"{base}/healthz")
            site = sites.site_add(name="hooks", url=fake.base_url, email=fake.email, token=fake.api_token)
            project = sites.project_add(site=site, key="HOOK")
            run_id = runs.request_sync(project=project, full=True).run.id
            while not runs.SyncRun.objects.get(id=run_id).is_terminal:
                time.sleep(0.1)
            webhooks.webhook_secret_set(site=site, secret=SECRET)
            fake.webhooks.register(f"{base}/webhooks/jira/{site.id}/", SECRET)
            user, _ = User.objects.get_or_create(username="bench")
            token = token_create(name="bench", username=user.username, scope_names=["read"], expires_at=None)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token.secret}"

            issues = random.Random(7).sample(fake.data.project_issues("HOOK"), args.events)
            pending: dict[str, tuple[str, float]] = {}  # key -> (expected summary, changed at)
            latencies: list[float] = []
            started = time.monotonic()
            next_change = 0
            while len(latencies) < args.events:
                due = started + next_change / args.rate
                if next_change < args.events and len(pending) < MAX_IN_FLIGHT and time.monotonic() >= due:
                    issue = issues[next_change]
                    summary = f"bench change {next_change}"
                    fake.data.update_issue(issue.id, summary=summary)
                    pending[issue.key] = (summary, time.monotonic())
                    next_change += 1
                    continue
                if pending:
                    seen = poll(session, base, list(pending))
                    now = time.monotonic()
                    for key, summary in seen.items():
                        if summary == pending[key][0]:
                            latencies.append(now - pending.pop(key)[1])
                    assert now - started < 60 + args.events / args.rate * 3, f"stuck with {pending}"
                time.sleep(0.02)
            by_endpoint = fake.stats()["by_endpoint"]
            reads = f"{by_endpoint.get('search_jql', 0)} searches + {by_endpoint.get('issue', 0)} issue GETs"
            print(
                f"webhook -> GraphQL latency over {len(latencies)} changes at {args.rate:g}/s: "
                f"p50 {statistics.median(latencies):.2f}s, p99 {percentile(latencies, 0.99):.2f}s, "
                f"max {max(latencies):.2f}s; Jira reads: {reads}; "
                f"deliveries {len(fake.webhooks.deliveries())} "
                f"(all 202: {all(d.status == 202 for d in fake.webhooks.deliveries())})"
            )
            return 0
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=60)


def poll(session: requests.Session, base: str, keys: list[str]) -> dict[str, str]:
    fields = " ".join(f'i{n}: issue(key: "{key}") {{ key summary }}' for n, key in enumerate(keys))
    response = session.post(f"{base}/graphql", json={"query": f"{{ {fields} }}"}, timeout=30)
    data: dict[str, Any] = response.json().get("data") or {}
    return {node["key"]: node["summary"] for node in data.values() if node}


if __name__ == "__main__":
    sys.exit(main())
