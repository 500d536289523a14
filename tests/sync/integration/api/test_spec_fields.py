"""The values behind the spec's fields, over HTTP on the synced world: workflowId stable per project,
scheduleId the beat entry's name, lastSyncTime never null, status the spec's string, priority null when
Jira has none (REST agrees), an author Jira did not name, and the options queries without arguments.

The world is shared: a test that edits a row puts it back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from sync import task_names
from sync.models import Comment, Issue, JiraSite, SyncJob, SyncState
from tests.sync.integration.api.test_graphql_reads import data_of

pytestmark = pytest.mark.integration


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_workflow_id_is_the_projects_and_schedule_id_names_its_beat_entry(world, reader):
    query = "{ syncJob(projectId: %s) { workflowId workflowRunId scheduleId periodicTaskId } }"
    first = data_of(reader.gql(query % '"BETA"'))["syncJob"]
    by_jira_id = data_of(reader.gql(query % world.beta.jira_id))["syncJob"]
    alpha = data_of(reader.gql(query % '"ALPHA"'))["syncJob"]

    job = SyncJob.objects.select_related("periodic_task").get(project=world.beta)
    entry = PeriodicTask.objects.get(name=first["scheduleId"])
    assert first == by_jira_id and first["workflowId"] == f"sync:{world.site.id}:{world.beta.jira_id}"
    assert alpha["workflowId"] != first["workflowId"]
    assert (entry.id, entry.task) == (job.periodic_task_id, task_names.SCHEDULED_TICK)
    assert first["periodicTaskId"] == str(entry.id)
    rest = ok(reader.get("/api/projects/BETA/sync-job/"))
    assert (rest["workflow_id"], rest["schedule_id"]) == (first["workflowId"], first["scheduleId"])


@pytest.fixture
def never_synced_state(world) -> Iterator[SyncState]:
    state = SyncState.objects.get(project=world.beta, entity="sprint")
    saved = state.last_sync_time
    SyncState.objects.filter(id=state.id).update(last_sync_time=None)
    yield state
    SyncState.objects.filter(id=state.id).update(last_sync_time=saved)


def test_a_state_never_synced_is_listed_at_the_epoch_with_a_string_status(world, reader, never_synced_state):
    states = data_of(
        reader.gql('{ syncStates(projectId: "BETA") { entity lastSyncTime status syncStatus } }')
    )["syncStates"]

    by_entity = {s["entity"]: s for s in states}
    assert by_entity["sprint"]["lastSyncTime"] == "1970-01-01T00:00:00+00:00"
    assert all(s["lastSyncTime"] for s in states)
    assert {s["status"] for s in states} <= {"IDLE", "RUNNING", "SUCCESS", "FAILED"}
    assert all(s["status"] == s["syncStatus"] for s in states)
    rest = {s["entity"]: s for s in ok(reader.get("/api/projects/BETA/states/"))}
    assert rest["sprint"]["last_sync_time"] is None  # REST keeps its null


@pytest.fixture
def issue_without_priority(world) -> Iterator[Issue]:
    # What the store keeps for an issue Jira sends without a priority (mapping None, stored "").
    issue = Issue.objects.filter(project=world.beta).order_by("id").first()
    assert issue is not None and issue.priority
    Issue.objects.filter(id=issue.id).update(priority="")
    yield issue
    Issue.objects.filter(id=issue.id).update(priority=issue.priority)


def test_priority_is_null_when_jira_has_none_in_both_apis(world, reader, issue_without_priority):
    key = issue_without_priority.key
    other = Issue.objects.filter(project=world.beta).exclude(id=issue_without_priority.id).first()
    assert other is not None

    graphql = data_of(
        reader.gql(f'{{ a: issue(key: "{key}") {{ priority }} b: issue(key: "{other.key}") {{ priority }} }}')
    )
    rest = ok(reader.get(f"/api/issues/{key}/"))

    assert graphql["a"]["priority"] is None and rest["priority"] is None
    assert graphql["b"]["priority"] == other.priority != ""
    listed = {i["key"]: i for i in ok(reader.get("/api/projects/BETA/issues/?page_size=100"))["results"]}
    assert listed[key]["priority"] is None


@pytest.fixture
def comment_without_author(world) -> Iterator[Comment]:
    comment = Comment.objects.filter(issue__project=world.beta, author__isnull=False).order_by("id").first()
    assert comment is not None
    Comment.objects.filter(id=comment.id).update(author=None)
    yield comment
    Comment.objects.filter(id=comment.id).update(author=comment.author)


def test_a_comment_jira_names_no_author_for_has_a_stand_in_author(world, reader, comment_without_author):
    key = comment_without_author.issue.key
    comments = data_of(
        reader.gql(f'{{ issue(key: "{key}") {{ comments {{ id author {{ accountId }} }} }} }}')
    )
    rest = ok(reader.get(f"/api/issues/{key}/"))["comments"]

    authors = {c["id"]: c["author"]["accountId"] for c in comments["issue"]["comments"]}
    assert authors[str(comment_without_author.jira_id)] == ""
    assert {c["id"]: c["author"] for c in rest}[str(comment_without_author.jira_id)] is None


def test_the_options_queries_without_arguments_take_the_one_site_and_project(world, reader):
    assert JiraSite.objects.count() == 1
    options = data_of(reader.gql("{ jiraProjectOptions { key registered } }"))["jiraProjectOptions"]
    assert {o["key"] for o in options} == {"ALPHA", "BETA"}

    # Two projects are registered: which one's users is the caller's to say.
    body = reader.gql("{ jiraProjectUserOptions { accountId } }").json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "projectId"
