"""Secrets at rest and in error reports: key rotation, and a planted token never reaching Sentry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from sync.models import JiraSite

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ATATT3xFfGF0-planted-token-4242"


def raw_token(site_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_token FROM sync_jirasite WHERE id = %s", [site_id])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_rotate_secrets_re_encrypts_with_the_newest_key_so_the_old_one_can_go(settings, capsys):
    old_key = settings.JIRAPLUS_SECRET_KEYS[0]
    site = JiraSite.objects.create(name="acme", base_url="https://acme.example", api_token=TOKEN)
    JiraSite.objects.create(name="other", base_url="https://other.example", api_token=TOKEN + "-2")
    new_key = Fernet.generate_key().decode()
    settings.JIRAPLUS_SECRET_KEYS = [new_key, old_key]

    call_command("rotate_secrets")

    assert "sync.JiraSite.api_token: 2 re-encrypted" in capsys.readouterr().out
    assert Fernet(new_key.encode()).decrypt(raw_token(site.id).encode()).decode() == TOKEN
    settings.JIRAPLUS_SECRET_KEYS = [new_key]  # the old key is gone: everything still reads
    assert sorted(JiraSite.objects.values_list("api_token", flat=True)) == [TOKEN, TOKEN + "-2"]
    assert TOKEN not in raw_token(site.id)


class SentryReceiver(BaseHTTPRequestHandler):
    """A local stand-in for Sentry's ingestion endpoint that keeps every envelope it is sent."""

    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        type(self).bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


# Runs in a fresh process with SENTRY_DSN set: the token reaches Sentry through a client's error log,
# an exception message and a local variable, the three ways secrets usually leak into reports.
LEAKY_PROGRAM = f"""
import logging, django, sentry_sdk
django.setup()
from sync.jira.client import JiraClient, JiraCredentials
client = JiraClient(JiraCredentials("https://acme.example", "basic", {TOKEN!r}, email="me@acme.example"))
logging.getLogger("sync.jira.client").error("request failed with token %s", {TOKEN!r})
def sync_step(api_token):
    raise RuntimeError("Jira said no to " + api_token)
try:
    sync_step(client.credentials.token)
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(10)
"""


def test_a_planted_token_never_reaches_a_sentry_event():
    SentryReceiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
    try:
        result = subprocess.run(
            [sys.executable, "-c", LEAKY_PROGRAM],
            cwd=ROOT,
            env={**os.environ, "SENTRY_DSN": dsn, "DJANGO_SETTINGS_MODULE": "tests.settings"},
            capture_output=True,
            timeout=60,
            check=False,
        )
    finally:
        server.shutdown()

    assert result.returncode == 0, result.stderr.decode()
    events = [json.loads(line) for body in SentryReceiver.bodies for line in body.splitlines()[2::2]]
    messages = json.dumps(events)
    assert len(SentryReceiver.bodies) >= 2, "both the error log and the exception should be reported"
    assert "request failed with token" in messages and "Jira said no to" in messages
    assert TOKEN not in b"".join(SentryReceiver.bodies).decode(errors="replace")
