"""Fixtures of the fault suite: a private Redis that tests may kill, and seeds that replay."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.fixtures.receivers import free_port


class PrivateRedis:
    """A redis-server of the test's own (never the shared one), which it may shut down and restart."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise pytest.UsageError(
                "the fault suite needs redis-server on PATH (Debian package redis-server)"
            )
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"private redis on port {self.port} did not start")

    def shutdown_nosave(self) -> None:
        """Lose everything in memory, as a crash of a Redis without persistence would."""
        with contextlib.suppress(redis.ConnectionError):  # the server drops the connection as it exits
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """FAULT_SEED replays a failure; otherwise a fresh seed, printed when the test fails."""
    value = int(os.environ.get("FAULT_SEED") or random.randrange(1 << 30))
    request.node.user_properties.append(("seed", value))
    print(f"fault seed: {value} (replay with FAULT_SEED={value})")
    return value
