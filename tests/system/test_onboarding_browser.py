"""A real browser (Debian's chromium through Playwright) walks the onboarding an operator without a shell
does, against the fake Jira, a live Django server and a real worker: add a site (a wrong token first, then
*Test connection*, then save), open its Jira projects, register one with a cron and a first sync, watch that
sync succeed, and unregister the project keeping its data."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from fakejira import FakeDataConfig
from sync.models import Issue, JiraSite, Project, SyncJob, SyncRun
from tests.fixtures.browser import PASSWORD, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_operator_onboards_a_site_and_a_project_in_the_browser(
    live_server, browser, fake_jira_factory, celery_processes
):
    fake = fake_jira_factory(FakeDataConfig(seed=8, projects={"ALPHA": 12, "BETA": 3}, users=4))
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    celery_processes.worker()
    with signed_in(browser, live_server.url, "admin", "/admin/sync/jirasite/add/") as page:
        onboard(page, fake)


def onboard(page: Page, fake: Any) -> None:
    page.fill("#id_name", "acme")
    page.fill("#id_base_url", fake.base_url)
    page.fill("#id_email", fake.email)
    page.fill("#id_api_token", "a-wrong-token")
    page.click("#test-connection")
    expect(page.locator("#test-connection-result")).to_contain_text("AUTH_FAILED")
    expect(page.locator("#test-connection-result")).to_have_class("errornote")
    page.click("input[name=_save]")  # refused: Jira's classified error and advice under the token
    expect(page.locator(".errorlist")).to_contain_text("AUTH_FAILED")
    assert not JiraSite.objects.exists()

    page.fill("#id_api_token", fake.api_token)  # a refused form never renders the token back
    page.click("#test-connection")
    expect(page.locator("#test-connection-result")).to_contain_text("Connected as")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("acme")
    site = JiraSite.objects.get(name="acme")
    assert site.verified_at is not None and site.account_id
    assert fake.api_token not in page.content()

    page.click("text=Register projects")
    expect(page.locator("#register-projects-form")).to_contain_text("BETA")
    page.check("input[name=keys][value=ALPHA]")
    page.fill("#id_cron", "0 */2 * * *")
    page.click("input[name=register]")
    expect(page.locator(".messagelist")).to_contain_text("Registered ALPHA on acme (cron 0 */2 * * *)")
    expect(page.locator(".messagelist")).to_contain_text("first sync")
    alpha = Project.objects.get(site=site, key="ALPHA")
    assert SyncJob.objects.get(project=alpha).cron == "0 */2 * * *"

    deadline = time.monotonic() + 60
    page.click(f"a[href$='/sync/project/{alpha.pk}/change/']")
    while "SUCCEEDED" not in page.locator("body").inner_text():
        assert time.monotonic() < deadline, SyncRun.objects.filter(project=alpha).values(
            "status", "error_code"
        )
        time.sleep(0.5)
        page.reload()
    assert Issue.live.filter(project=alpha).count() == len(fake.data.export("ALPHA"))

    page.click("text=Unregister…")
    expect(page.locator("#unregister-form")).to_contain_text("cannot be undone")
    page.check("input[name=keep_or_purge][value=keep]")
    page.click("input[name=unregister]")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Unregistered ALPHA: its {len(fake.data.export('ALPHA'))}"
    )
    assert SyncJob.objects.get(project=alpha).status == SyncJob.Status.UNREGISTERED
    assert Issue.live.filter(project=alpha).count() == len(fake.data.export("ALPHA"))
