"""A real browser (Debian's chromium driven by Playwright) against a live Django server and a real worker:
an operator logs in, pauses a project, reschedules it (an invalid cron, then a valid one), triggers a run
and watches it finish."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from fakejira import FakeDataConfig
from sync.models import Project, SyncJob, SyncRun
from tests.fixtures.browser import PASSWORD, signed_in
from tests.fixtures.sync import register

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def run_action(page: Page, action: str) -> None:
    page.locator("input.action-select").first.check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_an_operator_pauses_reschedules_and_triggers_a_sync_in_the_browser(
    live_server, browser, fake_jira_factory, celery_processes
):
    (alpha,) = register(fake_jira_factory(FakeDataConfig(seed=4, projects={"ALPHA": 8}, users=5)), ["ALPHA"])
    User.objects.create_superuser("operator", "op@example.com", PASSWORD)
    celery_processes.worker()
    with signed_in(browser, live_server.url, "operator", "/admin/sync/syncjob/") as page:
        operate(page, alpha)


def operate(page: Page, alpha: Project) -> None:
    """Pause, reschedule (invalid, preview, valid), trigger, and watch the run finish."""
    expect(page.locator("#result_list")).to_contain_text("ALPHA")

    run_action(page, "pause")
    expect(page.locator(".messagelist")).to_contain_text("paused")
    expect(page.locator("#result_list")).to_contain_text("Paused")
    assert SyncJob.objects.get(project=alpha).paused_by == "operator"

    page.click("text=Reschedule")
    page.fill("#id_cron", "61 * * * *")
    page.click("input[name=save]")
    expect(page.locator(".errorlist")).to_contain_text("minute field '61' is out of range 0-59")
    page.fill("#id_cron", "*/30 * * * *")
    page.click("input[name=preview]")
    expect(page.locator("#preview li")).to_have_count(5)
    page.click("input[name=save]")
    expect(page.locator(".messagelist")).to_contain_text("schedule is now '*/30 * * * *'")
    expect(page.locator("#result_list")).to_contain_text("Every 30 minutes")

    run_action(page, "trigger")
    expect(page.locator(".messagelist")).to_contain_text(re.compile(r"started run \d+"))
    deadline = time.monotonic() + 60
    while "SUCCEEDED" not in page.locator("#result_list").inner_text():
        assert time.monotonic() < deadline, SyncRun.objects.filter(project=alpha).values(
            "status", "error_code"
        )
        time.sleep(0.5)
        page.reload()
    assert SyncRun.objects.get(project=alpha).status == "SUCCEEDED"
    assert SyncJob.objects.get(project=alpha).status == "PAUSED"  # a trigger does not resume the schedule
