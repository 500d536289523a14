"""``python -m fakejira``: serve a fake site until SIGINT/SIGTERM, announcing it as one JSON line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from fakejira.model import FakeDataConfig
from fakejira.server import FakeJira


def _projects(text: str) -> dict[str, int]:
    projects: dict[str, int] = {}
    for item in text.split(","):
        key, _, count = item.partition("=")
        if not key.strip() or not count.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected KEY=COUNT[,KEY=COUNT...], got {text!r}")
        projects[key.strip().upper()] = int(count)
    return projects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakejira", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=_projects, default={"ALPHA": 300, "BETA": 100})
    parser.add_argument("--time-zone", default="UTC", help="the API user's zone, e.g. Pacific/Chatham")
    parser.add_argument("--deployment", choices=["Cloud", "DataCenter"], default="Cloud")
    parser.add_argument("--token", help="the valid API token (Cloud Basic auth password)")
    parser.add_argument("--pat", help="the valid personal access token (Data Center Bearer)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added before every API answer")
    parser.add_argument(
        "--search-latency-ms", type=float, default=0.0, help="added before search answers instead"
    )
    options = parser.parse_args(argv)

    overrides: dict[str, Any] = {}
    if options.token:
        overrides["api_token"] = options.token
    if options.pat:
        overrides["pat"] = options.pat
    config = FakeDataConfig(
        seed=options.seed,
        projects=options.projects,
        time_zone=options.time_zone,
        deployment=options.deployment,
        **overrides,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with FakeJira(
        config,
        host=options.host,
        port=options.port,
        latency_ms=options.latency_ms,
        search_latency_ms=options.search_latency_ms,
    ) as fake:
        announcement = {
            key: value for key, value in fake.info().items() if key not in ("deployment", "time_zone")
        }
        sys.stdout.write(json.dumps(announcement) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
