"""Two Jira sites holding the same project key: every key-based look-up takes a site (id or name), and
without one an ambiguous key is an AMBIGUOUS error naming the sites and how to choose."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from core.errors import InvalidInput, NotFound
from fakejira import FakeDataConfig
from orchestration.models import Orchestration
from orchestration.services import controls as orchestration_controls
from sync.models import Project, SyncRun
from sync.selectors import issue_by_key
from sync.services import sites
from tests.fixtures.sync import register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_sites(fake_jira_factory, celery_worker) -> dict[str, Any]:
    """East and west: two Jiras whose ALPHA projects share key and ids but not their issues' text."""
    synced: dict[str, Any] = {}
    for name, seed in (("east", 3), ("west", 4)):
        fake = fake_jira_factory(FakeDataConfig(seed=seed, projects={"ALPHA": 8}))
        (project,) = register(fake, ["ALPHA"], name=name)
        assert sync_and_wait(project, full=True).status == "SUCCEEDED"
        synced[name] = (project, {i["key"]: i for i in fake.data.export("ALPHA")})
    return synced


def gql(client: Any, query: str) -> dict[str, Any]:
    response = client.post("/graphql", {"query": query}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def assert_names_both_sites(message: str, two_sites: dict[str, Any]) -> None:
    for name, (project, _) in two_sites.items():
        assert f"{name} (id {project.site_id})" in message, message


def test_services_pick_the_site_or_name_both_when_none_is_given(two_sites):
    east, west = two_sites["east"][0], two_sites["west"][0]

    with pytest.raises(InvalidInput) as ambiguous:
        sites.project_get(key_or_id="alpha")
    assert ambiguous.value.code == "AMBIGUOUS" and ambiguous.value.field == "project"
    assert_names_both_sites(ambiguous.value.message, two_sites)
    assert "--site" in ambiguous.value.advice and "siteId" in ambiguous.value.advice
    with pytest.raises(InvalidInput, match="several sites"):  # copies of one Jira share ids too
        sites.project_get(key_or_id=str(east.jira_id))

    assert sites.project_get(key_or_id="ALPHA", site="west") == west
    assert sites.project_get(key_or_id="ALPHA", site=str(east.site_id)) == east
    with pytest.raises(NotFound) as no_site:
        sites.project_get(key_or_id="ALPHA", site="north")
    assert no_site.value.field == "site"

    with pytest.raises(InvalidInput) as issue_ambiguous:
        issue_by_key(key="ALPHA-1")
    assert issue_ambiguous.value.code == "AMBIGUOUS" and issue_ambiguous.value.field == "key"
    assert_names_both_sites(issue_ambiguous.value.message, two_sites)
    issue = issue_by_key(key="ALPHA-1", site="west")
    assert issue.site_id == west.site_id and issue.summary == two_sites["west"][1]["ALPHA-1"]["summary"]
    assert issue.summary != two_sites["east"][1]["ALPHA-1"]["summary"]


def test_graphql_issue_and_project_lookups_take_a_site_id(two_sites, admin_client):
    east_site = two_sites["east"][0].site_id

    ambiguous = gql(admin_client, '{ issue(key: "ALPHA-1") { key } }')
    error = ambiguous["errors"][0]
    assert error["extensions"]["code"] == "AMBIGUOUS" and error["extensions"]["field"] == "key"
    assert_names_both_sites(error["message"], two_sites)

    chosen = gql(admin_client, f'{{ issue(key: "ALPHA-1", siteId: "{east_site}") {{ key summary }} }}')
    assert chosen["data"]["issue"]["summary"] == two_sites["east"][1]["ALPHA-1"]["summary"]
    page = gql(admin_client, '{ issues(projectKey: "ALPHA", siteId: "west") { totalCount } }')
    assert page["data"]["issues"]["totalCount"] == 8
    runs = gql(admin_client, '{ syncRuns(projectId: "ALPHA", siteId: "west") { id } }')
    assert [int(r["id"]) for r in runs["data"]["syncRuns"]] == list(
        SyncRun.objects.filter(project=two_sites["west"][0]).values_list("id", flat=True)
    )
    unknown = gql(admin_client, '{ syncJob(projectId: "ALPHA", siteId: "north") { id } }')
    assert unknown["errors"][0]["extensions"]["field"] == "siteId"

    refused = gql(admin_client, 'mutation { pauseProjectSync(projectId: "ALPHA") { errors { code field } } }')
    assert refused["data"]["pauseProjectSync"]["errors"] == [{"code": "AMBIGUOUS", "field": "projectId"}]
    paused = gql(
        admin_client,
        'mutation { pauseProjectSync(projectId: "ALPHA", siteId: "west")'
        " { errors { code } syncJob { status } } }",
    )
    assert paused["data"]["pauseProjectSync"] == {"errors": [], "syncJob": {"status": "PAUSED"}}
    assert Project.objects.get(id=two_sites["east"][0].id).sync_job.status == "ACTIVE"


def test_rest_issue_and_project_lookups_take_a_site(two_sites, admin_client):
    ambiguous = admin_client.get("/api/issues/ALPHA-2/")
    assert ambiguous.status_code == 400 and ambiguous.json()["code"] == "AMBIGUOUS"
    assert_names_both_sites(ambiguous.json()["message"], two_sites)

    issue = admin_client.get("/api/issues/ALPHA-2/?site=west")
    assert issue.status_code == 200
    assert issue.json()["summary"] == two_sites["west"][1]["ALPHA-2"]["summary"]
    assert admin_client.get("/api/issues/ALPHA-2/history/?site=east").status_code == 200
    assert admin_client.get("/api/issues/ALPHA-2/?site=north").status_code == 404

    assert admin_client.get("/api/projects/ALPHA/").json()["code"] == "AMBIGUOUS"
    assert admin_client.get("/api/projects/ALPHA/?site=east").json()["site"] == "east"
    assert (
        admin_client.get(f"/api/projects/ALPHA/?site={two_sites['west'][0].site_id}").json()["site"] == "west"
    )
    issues = admin_client.get("/api/projects/ALPHA/issues/?site=west").json()
    assert {i["summary"] for i in issues["results"]} == {i["summary"] for i in two_sites["west"][1].values()}


def test_commands_and_orchestrate_take_a_site(two_sites):
    with pytest.raises(CommandError, match="AMBIGUOUS: Project 'ALPHA' exists on several sites: east"):
        call_command("sync_schedule", "ALPHA", "--pause")
    call_command("sync_schedule", "ALPHA", "--pause", "--site", "east")
    assert Project.objects.get(id=two_sites["east"][0].id).sync_job.status == "PAUSED"
    assert Project.objects.get(id=two_sites["west"][0].id).sync_job.status == "ACTIVE"

    with pytest.raises(InvalidInput) as ambiguous:
        orchestration_controls.orchestration_start(issue_key="ALPHA-3")
    assert ambiguous.value.field == "issueKey"
    assert_names_both_sites(ambiguous.value.message, two_sites)
    call_command("orchestrate", "ALPHA-3", "--site", "west")
    started = Orchestration.objects.get()
    assert started.issue.site_id == two_sites["west"][0].site_id
