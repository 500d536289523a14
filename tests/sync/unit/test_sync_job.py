"""SyncJob.active_cron: the one place that says which cron a project runs on now."""

from __future__ import annotations

from sync.models import SyncJob


def test_active_cron_is_the_operators_cron_when_not_backed_off():
    assert SyncJob(cron="*/15 * * * *", effective_cron="").active_cron == "*/15 * * * *"


def test_active_cron_is_the_back_off_cron_while_backed_off():
    assert SyncJob(cron="*/15 * * * *", effective_cron="0 * * * *").active_cron == "0 * * * *"
