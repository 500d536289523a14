"""Pure rules of the communication service: back-off, Retry-After, payload shaping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.http import http_date

from notifications.delivery import backoff_seconds
from notifications.transports.base import Message
from notifications.transports.email import option_flag
from notifications.transports.http import retry_after_seconds
from notifications.transports.slack import blocks
from notifications.transports.whatsapp import template_parameters


@pytest.fixture
def backoff(settings):
    settings.NOTIFY_BACKOFF_BASE = 10.0
    settings.NOTIFY_BACKOFF_MAX = 300.0


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 5, 10), (2, 10, 20), (3, 20, 40), (9, 150, 300)])
def test_back_off_doubles_per_attempt_with_jitter_and_stays_bounded(backoff, attempts, low, high):
    delays = [backoff_seconds(attempts) for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    assert len(set(delays)) > 1  # jitter spreads the retries of many messages


def test_back_off_waits_at_least_retry_after_but_never_past_the_maximum(backoff):
    assert backoff_seconds(1, retry_after=60) == 60
    assert backoff_seconds(1, retry_after=10_000) == 300


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("12") == 12
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    in_a_minute = http_date((timezone.now() + timedelta(seconds=60)).timestamp())
    assert 55 <= (retry_after_seconds(in_a_minute) or 0) <= 61


def test_slack_facts_are_split_into_sections_of_ten_fields():
    facts = {f"k{n}": f"v{n}" for n in range(23)}
    sections = [
        b for b in blocks(Message(recipient="#x", subject="s", text="", facts=facts)) if "fields" in b
    ]
    assert [len(s["fields"]) for s in sections] == [10, 10, 3]
    assert sections[2]["fields"][2] == {"type": "mrkdwn", "text": "*k22*\nv22"}


def test_whatsapp_template_parameters_have_no_new_lines_and_are_never_empty():
    message = Message(recipient="+1", subject="Token\nexpired", text="", facts={"A": "1\t2", "B": "x    y"})
    assert template_parameters(message) == ["Token expired", "A: 1 2 · B: x y", "-"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("true", True), ("1", True), ("false", False), ("", False), (None, False), (False, False)],
)
def test_email_channel_flags_typed_as_text_mean_what_they_say(value, expected):

    assert option_flag(value) is expected
