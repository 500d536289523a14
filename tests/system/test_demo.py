"""`make demo`'s engine on the embedded profile: SQLite, filesystem broker, real worker and beat processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_the_demo_syncs_the_fake_jira_with_no_server_at_all():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JIRAPLUS_VAR_DIR")}
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--no-serve", "--scale", "0.1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "embedded profile" in output and "broker filesystem://" in output
    assert output.count("SUCCEEDED: ") == 2
    assert "demo: stored 42 issues" in output
