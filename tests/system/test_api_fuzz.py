"""Schemathesis (its command line, the stable interface) against the REST API's own OpenAPI schema, served
by a live server on the test database: whatever it sends, no answer is a 500."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from tests.fixtures.sync import register
from tests.fixtures.tokens import token_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis"


def test_no_generated_request_makes_the_rest_api_answer_with_a_server_error(live_server, fake_jira):
    register(fake_jira, ["ALPHA"])  # a registered project, for the examples that name it
    user = User.objects.create_superuser("fuzzer", "fuzz@example.com", "pw-fuzz-123")
    token = token_for(user)

    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/schema/?format=json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            # Generated inputs only: the boundary-coverage phase alone sends thousands of requests to the
            # orchestration serializers, minutes of CI for no more reach.
            "--phases",
            "fuzzing",
            "--seed",
            "1",
            # Under the API's per-user throttle (1200/min): a 429's Retry-After would stall the run.
            "--rate-limit",
            "18/s",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    tested = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert tested and tested.group(1) == tested.group(2) and int(tested.group(1)) > 200, report
