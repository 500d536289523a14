"""core.publish and core.leases without a server: what is published when, and the lease columns' SQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Q

from core import leases, publish


class _App:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def send_task(self, name: str, **options: Any) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((name, options))


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    callbacks: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(publish.transaction, "on_commit", lambda func, **kw: callbacks.append((func, kw)))
    return callbacks


def test_a_task_is_published_only_by_the_on_commit_callback(monkeypatch, captured):
    app = _App()
    monkeypatch.setattr(publish, "current_app", app)

    publish.publish_after_commit("app.work", args=[1, 2], queue="q", countdown=0, using="other")

    assert app.sent == []  # nothing before the commit
    [(callback, options)] = captured
    assert options == {"using": "other", "robust": True}
    callback()
    assert app.sent == [("app.work", {"args": [1, 2], "kwargs": {}, "queue": "q"})]  # no zero countdown


def test_a_positive_countdown_is_passed_on(monkeypatch, captured):
    app = _App()
    monkeypatch.setattr(publish, "current_app", app)
    publish.publish_after_commit("app.work", args=[3], queue="q", countdown=1.5)
    captured[0][0]()
    assert app.sent == [("app.work", {"args": [3], "kwargs": {}, "queue": "q", "countdown": 1.5})]


def test_a_failed_publish_is_logged_not_raised(monkeypatch, captured, caplog):
    monkeypatch.setattr(publish, "current_app", _App(fail=True))
    publish.publish_after_commit("app.work", args=[7])
    with caplog.at_level(logging.ERROR, logger="core.publish"):
        captured[0][0]()
    assert "app.work" in caplog.text and "[7]" in caplog.text


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_lease_columns_claim_free_or_expired_and_release_both_columns():
    columns = leases.LeaseColumns()
    assert columns.free(NOW) == Q(lease_token="") | Q(lease_expires_at__lt=NOW)
    assert columns.held("t") == {"lease_token": "t"}
    until = NOW + timedelta(seconds=5)
    assert columns.taken("t", until) == {"lease_expires_at": until, "lease_token": "t"}
    assert columns.released() == {"lease_expires_at": None, "lease_token": ""}


def test_lease_columns_without_a_holder_only_keep_the_expiry():
    columns = leases.LeaseColumns(holder_field=None, expiry_field="until")
    assert columns.expired(NOW) == Q(until__lt=NOW)
    assert columns.taken(None, NOW) == {"until": NOW}
    assert columns.released() == {"until": None}
    with pytest.raises(TypeError):
        columns.free(NOW)
