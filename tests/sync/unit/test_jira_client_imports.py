"""The Jira client stays a library: importing it pulls in no Celery, no project wiring, no other app and
never the fake Jira, so scripts and workers of any kind can use it on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("celery", "jiraplus", "orchestration", "telemetry", "notifications", "fakejira")

# A fresh interpreter: the test process has long imported all of these.
PROBE = """
import json, sys
import sync.jira.client
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_client_loads_no_celery_wiring_other_app_or_fake_jira():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert "sync.jira.client" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert loaded == []
