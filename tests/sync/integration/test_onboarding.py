"""Onboarding through the one service layer and each API face: test credentials, add a site, register
projects (all or none), unregister keeping or purging the data, and register a kept project again."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.errors import AlreadyExists, Conflict
from fakejira import FakeDataConfig
from sync.jira.errors import JiraError, JiraErrorCode
from sync.models import Issue, JiraSite, Project, SyncEntity, SyncJob, SyncLog, SyncRun, SyncState
from sync.services import controls, discovery, runs, schedules, sites
from tests.fixtures.sync import stored, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CONFIG = FakeDataConfig(seed=21, projects={"ALPHA": 30, "BETA": 5}, worklog_feed_lag_seconds=0)


@pytest.fixture
def fake(fake_jira_factory: Any) -> Any:
    return fake_jira_factory(CONFIG)


@pytest.fixture
def site(fake: Any) -> JiraSite:
    return sites.site_add(name="fake", url=fake.base_url, email=fake.email, token=fake.api_token)


def _client(name: str, *permissions: str) -> Client:
    user = User.objects.create_user(name)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="sync", codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def _graphql(client: Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(
        "/graphql", {"query": query, "variables": variables}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_site_check_proves_credentials_and_stores_nothing(fake):
    identity = sites.site_check(url=fake.base_url, email=fake.email, token=fake.api_token)
    assert identity.account_id and identity.time_zone

    with pytest.raises(JiraError) as refused:
        sites.site_check(url=fake.base_url, email=fake.email, token="not-the-token")

    assert refused.value.code == JiraErrorCode.AUTH_FAILED and refused.value.advice
    assert not JiraSite.objects.exists()


def test_projects_register_all_or_none(site):
    with pytest.raises(JiraError) as unknown:
        sites.projects_register(site=site, keys=["ALPHA", "NOPE"])
    assert unknown.value.code == JiraErrorCode.UNKNOWN_PROJECT
    assert not Project.objects.exists() and not PeriodicTask.objects.filter(name__startswith="sync").exists()

    alpha, beta = sites.projects_register(
        site=site, keys=["alpha", " BETA ", "ALPHA"], cron="0 * * * *", track=["acc-1"], actor="ann"
    )

    assert [alpha.key, beta.key] == ["ALPHA", "BETA"]
    for project in (alpha, beta):
        job = SyncJob.objects.select_related("periodic_task__crontab").get(project=project)
        assert job.cron == "0 * * * *" and job.status == SyncJob.Status.ACTIVE
        assert job.periodic_task is not None and job.periodic_task.crontab.minute == "0"
        assert SyncState.objects.filter(project=project).count() == len(SyncEntity.values)
        assert SyncLog.objects.filter(project=project, message__startswith="Registered by ann").exists()
    assert list(alpha.tracked_users.values_list("user__account_id", flat=True)) == ["acc-1"]
    with pytest.raises(AlreadyExists, match="ALPHA"):
        sites.projects_register(site=site, keys=["ALPHA"])


def test_unregistered_keeps_its_data_refuses_controls_and_comes_back_full(site, celery_worker):
    (alpha,) = sites.projects_register(site=site, keys=["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    before = stored(alpha)

    gone = sites.project_unregister(project=alpha, purge=False, actor="ann")

    assert (gone.purged, gone.issues) == (False, len(before))
    job = SyncJob.objects.get(project=alpha)
    assert job.status == SyncJob.Status.UNREGISTERED and job.periodic_task is None and job.next_run_at is None
    assert not PeriodicTask.objects.filter(name=job.schedule_id).exists()
    assert not CrontabSchedule.objects.exclude(periodictask__isnull=False).filter(minute="*/15").exists()
    assert stored(alpha) == before
    with pytest.raises(Conflict, match="unregistered"):
        controls.sync_trigger(project=alpha, actor="ann")
    with pytest.raises(Conflict):
        controls.sync_resume(project=alpha, actor="ann")
    assert schedules.tick_admit(project_id=alpha.id) is None
    assert {o.key: o.registered for o in discovery.jira_project_options(site=site)}["ALPHA"] is False

    (again,) = sites.projects_register(site=site, keys=["ALPHA"], cron="*/5 * * * *")

    assert again.id == alpha.id
    job.refresh_from_db()
    assert job.status == SyncJob.Status.ACTIVE and job.cron == "*/5 * * * *" and job.periodic_task
    assert not SyncState.objects.filter(project=alpha, last_sync_time__isnull=False).exists()
    run = sync_and_wait(alpha)  # not asked full: the reset states make it one
    assert run.status == "SUCCEEDED" and run.window_start is None
    assert stored(alpha) == before


def test_purge_deletes_everything_and_is_refused_while_a_run_is_open(site):
    alpha, beta = sites.projects_register(site=site, keys=["ALPHA", "BETA"])
    runs.request_sync(project=alpha)  # no worker: it stays queued
    with pytest.raises(Conflict, match="in flight"):
        sites.project_unregister(project=alpha, purge=True)
    assert SyncJob.objects.get(project=alpha).status == SyncJob.Status.ACTIVE
    SyncRun.objects.filter(project=alpha).update(status="CANCELLED")
    SyncLog.objects.create(project=alpha, level="INFO", message="x")

    gone = sites.project_unregister(project=alpha, purge=True, actor="ann")

    assert gone.purged and not Project.objects.filter(id=alpha.id).exists()
    assert not SyncRun.objects.filter(project_id=alpha.id).exists()
    assert not Issue.objects.filter(project_id=alpha.id).exists()
    assert Project.objects.filter(id=beta.id).exists()  # the other project is untouched


def test_the_command_registers_several_and_removes(site, capsys):
    call_command("jira_project", "add", "--site", "fake", "--key", "ALPHA", "BETA", "--cron", "0 6 * * *")
    assert set(Project.objects.values_list("key", flat=True)) == {"ALPHA", "BETA"}

    call_command("jira_project", "remove", "BETA")
    call_command("jira_project", "remove", "ALPHA", "--purge")

    out = capsys.readouterr().out
    assert "Registered project ALPHA" in out and "Registered project BETA" in out
    assert "Unregistered BETA; its 0 issue(s) are kept" in out and "deleted its 0 issue(s)" in out
    assert list(Project.objects.values_list("key", "sync_job__status")) == [("BETA", "UNREGISTERED")]


TEST_SITE = """mutation($url: String!, $email: String, $token: String!) {
  testJiraSite(url: $url, email: $email, token: $token) {
    identity { accountId timeZone deploymentType } errors { code message advice field } } }"""
ADD_SITE = """mutation($name: String!, $url: String!, $email: String, $token: String!) {
  addJiraSite(name: $name, url: $url, email: $email, token: $token) {
    site { id name baseUrl } errors { code message field } } }"""
REGISTER = """mutation($site: ID, $keys: [String!]!, $cron: String) {
  registerJiraProjects(siteId: $site, keys: $keys, cron: $cron) {
    projects { key syncJob { cronSchedule status } } errors { code message field } } }"""
UNREGISTER = """mutation($project: ID!, $purge: Boolean) {
  unregisterJiraProject(projectId: $project, purge: $purge) {
    projectKey purged issues errors { code message field } } }"""


def test_graphql_onboarding_walk_and_its_refusals(fake):
    admin = _client("admin", "add_jirasite", "add_project", "delete_project")
    reader = _client("reader")
    creds = {"url": fake.base_url, "email": fake.email}

    refused = _graphql(reader, ADD_SITE, name="x", token=fake.api_token, **creds)["addJiraSite"]
    assert refused["site"] is None and refused["errors"][0]["code"] == "PERMISSION_DENIED"
    bad = _graphql(admin, TEST_SITE, token="wrong", **creds)["testJiraSite"]
    assert (
        bad["identity"] is None and bad["errors"][0]["code"] == "AUTH_FAILED" and bad["errors"][0]["advice"]
    )
    good = _graphql(admin, TEST_SITE, token=fake.api_token, **creds)["testJiraSite"]
    assert good["errors"] == [] and good["identity"]["accountId"]
    added = _graphql(admin, ADD_SITE, name="fake", token=fake.api_token, **creds)["addJiraSite"]
    assert added["errors"] == [] and added["site"]["name"] == "fake"
    again = _graphql(admin, ADD_SITE, name="fake", token=fake.api_token, **creds)["addJiraSite"]
    assert again["errors"][0] | {"message": ""} == {"code": "ALREADY_EXISTS", "message": "", "field": "name"}

    bad_cron = _graphql(admin, REGISTER, keys=["ALPHA"], cron="every day")["registerJiraProjects"]
    assert bad_cron["errors"][0]["field"] == "cron" and not Project.objects.exists()
    reg = _graphql(admin, REGISTER, site="fake", keys=["ALPHA", "BETA"], cron="0 6 * * *")
    assert reg["registerJiraProjects"]["projects"] == [
        {"key": key, "syncJob": {"cronSchedule": "0 6 * * *", "status": "ACTIVE"}}
        for key in ("ALPHA", "BETA")
    ]
    denied = _graphql(reader, UNREGISTER, project="BETA")["unregisterJiraProject"]
    assert denied["errors"][0]["code"] == "PERMISSION_DENIED"
    gone = _graphql(admin, UNREGISTER, project="BETA", purge=True)["unregisterJiraProject"]
    assert gone == {"projectKey": "BETA", "purged": True, "issues": 0, "errors": []}
    unknown = _graphql(admin, UNREGISTER, project="BETA")["unregisterJiraProject"]
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    for response_text in (str(added), str(good), str(reg)):
        assert fake.api_token not in response_text


def test_rest_onboarding_walk_and_its_refusals(fake):
    admin = _client("admin", "add_jirasite", "add_project", "delete_project", "operate_sync")
    reader = _client("reader")
    creds = {"url": fake.base_url, "email": fake.email, "token": fake.api_token}

    assert _post(reader, "/api/sites/", {"name": "x", **creds}).status_code == 403
    bad = _post(admin, "/api/sites/test/", {**creds, "token": "wrong"})
    assert bad.status_code == 502 and bad.json()["code"] == "AUTH_FAILED" and bad.json()["advice"]
    assert _post(admin, "/api/sites/test/", creds).json()["account_id"]
    created = _post(admin, "/api/sites/", {"name": "fake", **creds})
    assert created.status_code == 201 and fake.api_token not in created.content.decode()
    site_id = created.json()["id"]
    assert [s["name"] for s in reader.get("/api/sites/").json()] == ["fake"]

    assert reader.get(f"/api/sites/{site_id}/jira-projects/").status_code == 403
    options = admin.get(f"/api/sites/{site_id}/jira-projects/").json()
    assert {(o["key"], o["registered"]) for o in options} == {("ALPHA", False), ("BETA", False)}
    registered = _post(admin, "/api/sites/fake/projects/", {"keys": ["BETA"], "cron": "0 6 * * *"})
    assert registered.status_code == 201 and registered.json()[0]["key"] == "BETA"
    assert {o["key"]: o["registered"] for o in admin.get("/api/sites/fake/jira-projects/").json()}["BETA"]

    assert _post(reader, "/api/projects/BETA/unregister/", {}).status_code == 403
    kept = _post(admin, "/api/projects/BETA/unregister/", {})
    assert kept.status_code == 200 and kept.json() == {
        "project_key": "BETA",
        "site": "fake",
        "purged": False,
        "issues": 0,
    }
    refused = _post(admin, "/api/projects/BETA/sync/", {})
    assert refused.status_code == 409 and refused.json()["code"] == "CONFLICT"
