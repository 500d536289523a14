"""Sync controls over GraphQL and REST: who may use them, what they change, and their errors as data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from sync.models import ProjectTrackedUser, SyncJob, SyncRun
from sync.permissions import OPERATORS_GROUP
from tests.fixtures.sync import sync_and_wait, wait_for_run
from tests.fixtures.tokens import bearer
from tests.sync.integration.api.conftest import RecordingClient

pytestmark = pytest.mark.integration

PAYLOAD = (
    "syncJob { id status cronSchedule effectiveCron workflowId workflowRunId } run { id status full }"
    " runCreated"
    " errors { field message code }"
)


def mutate(client: RecordingClient, call: str) -> dict[str, Any]:
    response = client.gql("mutation { result: " + call + " { " + PAYLOAD + " } }")
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["result"]


def job(project: Any) -> SyncJob:
    return SyncJob.objects.select_related("periodic_task").get(project=project)


def beat_enabled(project: Any) -> bool:
    task = job(project).periodic_task
    assert task is not None
    return bool(task.enabled)


@pytest.fixture
def restore_schedule(world: Any) -> Iterator[None]:
    """Controls change shared rows: put ALPHA's schedule back as it was."""
    from sync.services import controls

    cron = job(world.alpha).cron
    yield
    controls.sync_reschedule(project=world.alpha, cron=cron)
    controls.sync_resume(project=world.alpha)


MUTATIONS = [
    'startProjectSync(projectId: "ALPHA")',
    'pauseProjectSync(projectId: "ALPHA")',
    'resumeProjectSync(projectId: "ALPHA")',
    'rescheduleProjectSync(projectId: "ALPHA", cron: "0 * * * *")',
    'triggerProjectSync(projectId: "ALPHA")',
    'addTrackedUsers(projectId: "ALPHA", accountIds: ["x"])',
    'removeTrackedUsers(projectId: "ALPHA", accountIds: ["x"])',
    'cancelProjectSync(projectId: "ALPHA")',
]


@pytest.mark.parametrize("call", MUTATIONS)
def test_mutations_refuse_anonymous_and_read_only_callers(world, anon, reader, call):
    before = (job(world.alpha).status, job(world.alpha).cron, SyncRun.objects.count())

    assert anon.gql("mutation { result: " + call + " { errors { code } } }").status_code == 401
    refused = mutate(reader, call)

    assert refused["errors"][0]["code"] == "PERMISSION_DENIED"
    assert refused["syncJob"] is None and refused["run"] is None
    assert (job(world.alpha).status, job(world.alpha).cron, SyncRun.objects.count()) == before


ACTIONS = [
    "sync",
    "start",
    "pause",
    "resume",
    "reschedule",
    "tracked-users",
    "tracked-users/remove",
    "cancel",
]


@pytest.mark.parametrize("action", ACTIONS)
def test_rest_actions_refuse_anonymous_and_read_only_callers(world, anon, reader, action):
    url = f"/api/projects/ALPHA/{action}/"
    before = (job(world.alpha).status, SyncRun.objects.count())
    body = {"cron": "0 * * * *", "account_ids": ["x"]}

    assert anon.post(url, body, content_type="application/json").status_code == 401
    refused = reader.post(url, body, content_type="application/json")

    assert refused.status_code == 403
    assert refused.json()["code"] == "PERMISSION_DENIED"
    assert (job(world.alpha).status, SyncRun.objects.count()) == before


def test_pause_and_resume_over_graphql(world, operator, restore_schedule):
    paused = mutate(operator, 'pauseProjectSync(projectId: "ALPHA")')

    assert paused["errors"] == []
    assert paused["syncJob"]["status"] == "PAUSED" == job(world.alpha).status
    assert beat_enabled(world.alpha) is False
    assert job(world.alpha).paused_by == "operator"

    resumed = mutate(operator, f'resumeProjectSync(projectId: "{world.alpha.jira_id}")')
    assert resumed["syncJob"]["status"] == "ACTIVE" == job(world.alpha).status
    assert resumed["run"] is None
    assert beat_enabled(world.alpha) is True


def test_reschedule_over_graphql_and_an_invalid_cron_is_an_error_with_its_field(
    world, operator, restore_schedule
):
    done = mutate(operator, 'rescheduleProjectSync(projectId: "ALPHA", cron: "7 */2 * * *")')
    assert done["errors"] == [] and done["syncJob"]["cronSchedule"] == "7 */2 * * *" == job(world.alpha).cron

    bad = mutate(operator, 'rescheduleProjectSync(projectId: "ALPHA", cron: "61 * * * *")')

    assert bad["errors"][0]["code"] == "INVALID_INPUT"
    assert bad["errors"][0]["field"] == "cron"
    assert "out of range" in bad["errors"][0]["message"]
    assert bad["syncJob"] is None and job(world.alpha).cron == "7 */2 * * *"


def test_trigger_over_graphql_runs_a_real_sync(world, operator):
    done = mutate(operator, 'triggerProjectSync(projectId: "BETA", full: true)')

    assert done["errors"] == [] and done["runCreated"] is True
    run = wait_for_run(int(done["run"]["id"]), timeout=120)
    assert run.status == "SUCCEEDED" and run.full and run.trigger == "api"
    assert done["syncJob"]["workflowRunId"] == done["run"]["id"]
    assert done["syncJob"]["workflowId"] == f"sync:{world.site.id}:{world.beta.jira_id}"  # not the run's


def test_start_over_graphql_resumes_and_runs(world, operator, restore_schedule):
    mutate(operator, 'pauseProjectSync(projectId: "ALPHA")')

    started = mutate(operator, 'startProjectSync(projectId: "ALPHA")')

    assert started["errors"] == [] and started["syncJob"]["status"] == "ACTIVE"
    assert wait_for_run(int(started["run"]["id"]), timeout=120).status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        ('triggerProjectSync(projectId: "NOPE")', "NOT_FOUND", "projectId"),
        ('pauseProjectSync(projectId: "987654")', "NOT_FOUND", "projectId"),
        ('triggerProjectSync(projectId: "ALPHA", accountIds: ["  "])', "INVALID_INPUT", "accountIds"),
        ('addTrackedUsers(projectId: "ALPHA", accountIds: [""])', "INVALID_INPUT", "accountIds"),
        ('addTrackedUsers(projectId: "ALPHA", accountIds: [])', "INVALID_INPUT", "accountIds"),
        ('rescheduleProjectSync(projectId: "ALPHA", cron: "* * *")', "INVALID_INPUT", "cron"),
    ],
)
def test_bad_input_to_mutations_is_an_error_with_code_and_field(world, operator, call, code, field):
    runs_before = SyncRun.objects.count()

    result = mutate(operator, call)

    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert SyncRun.objects.count() == runs_before


def test_tracked_users_over_graphql_backfill_and_remove(world, operator, reader):
    account = world.fake.data.export("BETA")[0]["assignee"]
    assert account

    try:
        added = mutate(operator, f'addTrackedUsers(projectId: "BETA", accountIds: ["{account}"])')
        assert added["errors"] == [] and added["runCreated"] is True
        run = wait_for_run(int(added["run"]["id"]), timeout=120)
        assert run.status == "SUCCEEDED" and run.trigger == "backfill" and run.account_ids == [account]
        tracked = reader.gql('{ trackedUsers(projectId: "BETA") { accountId } }').json()["data"][
            "trackedUsers"
        ]
        assert tracked == [{"accountId": account}]
        options = reader.gql('{ jiraProjectUserOptions(projectId: "BETA") { accountId tracked } }').json()
        assert {o["accountId"] for o in options["data"]["jiraProjectUserOptions"] if o["tracked"]} == {
            account
        }
    finally:
        call = f'removeTrackedUsers(projectId: "BETA", accountIds: ["{account}"])'
        removed = operator.gql(f"mutation {{ {call} {{ removed errors {{ code }} }} }}").json()["data"]
    assert removed["removeTrackedUsers"] == {"removed": 1, "errors": []}
    assert not ProjectTrackedUser.objects.filter(project=world.beta, is_tracked=True).exists()


def test_sync_operators_group_and_staff_may_operate(world, staff_session, restore_schedule):
    member, _ = User.objects.get_or_create(username="group-member")
    member.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client = RecordingClient(world, HTTP_AUTHORIZATION=bearer(member))

    assert mutate(client, 'pauseProjectSync(projectId: "ALPHA")')["errors"] == []
    assert mutate(staff_session, 'resumeProjectSync(projectId: "ALPHA")')["errors"] == []
    assert job(world.alpha).status == "ACTIVE"


# --- REST -------------------------------------------------------------------------------------------


def post(client: RecordingClient, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def test_rest_pause_resume_reschedule(world, operator, restore_schedule):
    paused = post(operator, "/api/projects/ALPHA/pause/", {"note": "maintenance"})
    assert paused.status_code == 200
    assert paused.json()["sync_job"]["status"] == "PAUSED" and job(world.alpha).paused_note == "maintenance"

    rescheduled = post(operator, f"/api/projects/{world.alpha.jira_id}/reschedule/", {"cron": "*/5 * * * *"})
    assert rescheduled.status_code == 200 and rescheduled.json()["sync_job"]["cron"] == "*/5 * * * *"

    resumed = post(operator, "/api/projects/ALPHA/resume/")
    assert resumed.status_code == 200 and resumed.json()["sync_job"]["status"] == "ACTIVE"
    assert job(world.alpha).cron == "*/5 * * * *"


def test_rest_sync_runs_a_real_sync(world, operator):
    response = post(operator, "/api/projects/BETA/sync/", {"full": False})

    assert response.status_code == 202
    body = response.json()
    assert body["run_created"] is True
    assert wait_for_run(body["run"]["id"], timeout=120).status == "SUCCEEDED"


@pytest.mark.parametrize(
    "case",
    [
        ("/api/projects/ALPHA/reschedule/", {"cron": "61 * * * *"}, 400, "INVALID_INPUT", "cron"),
        ("/api/projects/ALPHA/reschedule/", {}, 400, "INVALID_INPUT", "cron"),
        ("/api/projects/NOPE/pause/", {}, 404, "NOT_FOUND", "project"),
        ("/api/projects/ALPHA/sync/", {"account_ids": [""]}, 400, "INVALID_INPUT", "account_ids"),
        ("/api/projects/ALPHA/sync/", {"full": "perhaps"}, 400, "INVALID_INPUT", "full"),
        ("/api/projects/ALPHA/tracked-users/", {"account_ids": []}, 400, "INVALID_INPUT", "account_ids"),
    ],
)
def test_rest_action_errors_carry_code_and_field(world, operator, case):
    url, body, status, code, field = case
    cron = job(world.alpha).cron
    response = post(operator, url, body)

    assert response.status_code == status
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert job(world.alpha).cron == cron


def test_rest_tracked_users_add_list_remove(world, operator, reader):
    account = world.fake.data.export("BETA")[1]["reporter"]
    try:
        added = post(operator, "/api/projects/BETA/tracked-users/", {"account_ids": [account]})
        assert added.status_code == 202
        assert wait_for_run(added.json()["run"]["id"], timeout=120).status == "SUCCEEDED"
        listed = reader.get("/api/projects/BETA/tracked-users/").json()
        assert [u["account_id"] for u in listed] == [account]
    finally:
        removed = post(operator, "/api/projects/BETA/tracked-users/remove/", {"account_ids": [account]})
    assert removed.status_code == 200 and removed.json()["removed"] == 1


@pytest.fixture
def slow_jira(world: Any) -> Iterator[None]:
    """Searches slow enough that a full run of ALPHA is still going when the test cancels it."""
    world.fake.latency.set(search_ms=500)
    yield
    world.fake.latency.set(search_ms=0)
    # Later tests read ALPHA's last run: leave a successful one behind, as the world started.
    assert sync_and_wait(world.alpha, timeout=120).status == "SUCCEEDED"


def _running_full_run(client: RecordingClient) -> int:
    started = post(client, "/api/projects/ALPHA/sync/", {"full": True})
    assert started.status_code == 202, started.content
    run_id = int(started.json()["run"]["id"])
    deadline = time.monotonic() + 30
    while SyncRun.objects.get(id=run_id).status != "RUNNING":
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)
    return run_id


def test_cancel_over_graphql_ends_the_run_cancelled_with_who(world, operator, slow_jira):
    run_id = _running_full_run(operator)

    done = mutate(operator, 'cancelProjectSync(projectId: "ALPHA", note: "not now")')

    assert done["errors"] == [] and done["runCreated"] is False and int(done["run"]["id"]) == run_id
    run = wait_for_run(run_id, timeout=60)
    assert (run.status, run.cancelled_by, run.cancel_note) == ("CANCELLED", "operator", "not now")
    read = operator.gql(
        '{ syncRuns(projectId: "ALPHA", limit: 1) { id status errorCode cancelledBy cancelRequestedAt } }'
    ).json()["data"]["syncRuns"][0]
    assert read["status"] == "CANCELLED" and read["errorCode"] == "CANCELLED"
    assert read["cancelledBy"] == "operator" and read["cancelRequestedAt"]

    idle = mutate(operator, 'cancelProjectSync(projectId: "ALPHA")')
    assert [(e["code"], e["field"]) for e in idle["errors"]] == [("NO_ACTIVE_RUN", "projectId")]


def test_cancel_over_rest_is_202_then_409_when_nothing_runs(world, operator, slow_jira):
    run_id = _running_full_run(operator)

    response = post(operator, "/api/projects/ALPHA/cancel/", {"note": "by REST"})

    assert response.status_code == 202 and response.json()["run"]["id"] == run_id
    run = wait_for_run(run_id, timeout=60)
    assert (run.status, run.cancelled_by, run.cancel_note) == ("CANCELLED", "operator", "by REST")
    listed = operator.get("/api/projects/ALPHA/runs/?limit=1").json()[0]
    assert listed["status"] == "CANCELLED" and listed["cancelled_by"] == "operator"

    idle = post(operator, "/api/projects/ALPHA/cancel/")
    assert idle.status_code == 409, idle.content
    assert (idle.json()["code"], idle.json()["field"]) == ("NO_ACTIVE_RUN", "project")
