"""Benchmark: accept N Slack messages through ``message_publish`` and deliver them with one Celery worker to a
local webhook receiver, on PostgreSQL and Redis. Prints the accept rate, the delivery rate (first accepted
to last SENT) and checks every message arrived exactly once.

    .venv/bin/python -m bench.notifications_delivery --messages 500 [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="


class Webhook(BaseHTTPRequestHandler):
    """Counts the idempotency keys it receives (in the Slack text) and answers like Slack: 200 "ok"."""

    received: Counter[str] = Counter()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Webhook.received[body.decode()] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=1, help="worker pool processes (one worker)")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jiraplus_bench_notify")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
    )
    name = args.database.rsplit("/", 1)[-1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False)

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from notifications import services
    from notifications.models import ChannelConfig, Notification

    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    redis.Redis.from_url(args.redis).flushdb()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    services.route_defaults_install()
    ChannelConfig.objects.update_or_create(
        channel="slack", defaults={"secret": f"http://127.0.0.1:{server.server_address[1]}/services/T/B/x"}
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "jiraplus",
            "worker",
            "-Q",
            "notifications",
            "-c",
            str(args.concurrency),
            "-l",
            "ERROR",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        time.sleep(4)  # worker start-up, not measured
        started = time.monotonic()
        for n in range(args.messages):
            services.message_publish(
                category="RATE_LIMIT",
                subject=f"message {n}",
                text=f"bench-{n}",
                facts={"Project": "BENCH", "n": str(n)},
                idempotency_key=f"bench-{n}",
            )
        accepted = time.monotonic() - started
        while Notification.objects.filter(status="SENT").count() < args.messages:
            if Notification.objects.filter(status="FAILED").exists():
                break
            time.sleep(0.05)
        delivered = time.monotonic() - started
        statuses = Counter(Notification.objects.values_list("status", flat=True))
        once = len(Webhook.received) == args.messages and set(Webhook.received.values()) == {1}
        print(
            f"{args.messages} Slack messages, worker -c {args.concurrency}: accepted in {accepted:.2f}s "
            f"({args.messages / accepted:.0f}/s), all delivered after {delivered:.2f}s "
            f"({args.messages / delivered:.0f}/s), statuses {dict(statuses)}, each received once={once}"
        )
        return 0 if once and statuses == {"SENT": args.messages} else 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
