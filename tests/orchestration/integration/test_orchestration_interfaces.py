"""GraphQL, REST, admin and commands: thin layers over one service, with permissions and typed errors.
No worker here: enqueueing happens on commit, which these (transaction-wrapped) tests never reach."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestration.models import Orchestration
from orchestration.services import controls
from tests.fixtures.graphql import graphql
from tests.fixtures.orchestration import stored_issue

pytestmark = pytest.mark.django_db

START = """mutation($key: String!) { startOrchestration(issueKey: $key, autoProceed: true) {
  orchestration { id status issueKey projectKey autoProceed } errors { field message code advice } } }"""
DETAIL = """query($id: ID!) { orchestration(id: $id) { id status currentPhase
  phases { phase iteration state idempotencyKey agents { agent status } }
  approvals { phase decision } events { seq type actor } } }"""


@pytest.fixture
def issue():
    return stored_issue()


@pytest.fixture
def operator(client):
    user = User.objects.create_user("olga", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="operate_orchestration"))
    client.force_login(user)
    return client


@pytest.fixture
def viewer(client):
    client.force_login(User.objects.create_user("victor", password="pw"))
    return client


def test_the_operators_group_holds_the_operate_permission(client, issue):
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    # Transactional tests flush data migrations' rows; run this one's function again (it is idempotent).
    migration = importlib.import_module("orchestration.migrations.0002_orchestration_operators_group")
    migration.Migration.operations[0].code(apps, None)
    user = User.objects.create_user("gus", password="pw")
    user.groups.add(Group.objects.get(name="Orchestration operators"))
    client.force_login(user)
    response = client.post("/api/orchestrations/", {"issue_key": issue.key}, content_type="application/json")
    assert response.status_code == 201


def test_graphql_start_needs_the_operate_permission(viewer, issue):
    data = graphql(viewer, START, key=issue.key)["startOrchestration"]
    assert data["orchestration"] is None
    assert data["errors"][0]["code"] == "PERMISSION_DENIED"
    assert not Orchestration.objects.exists()


def test_graphql_starts_and_shows_phases_approvals_and_events(operator, issue):
    started = graphql(operator, START, key=issue.key.lower())["startOrchestration"]
    assert started["errors"] == []
    assert (
        started["orchestration"]["issueKey"] == issue.key and started["orchestration"]["projectKey"] == "DEMO"
    )

    detail = graphql(operator, DETAIL, id=started["orchestration"]["id"])["orchestration"]
    assert detail["status"] == "PENDING" and detail["currentPhase"] == "EXPLORE"
    assert detail["phases"] == [
        {
            "phase": "EXPLORE",
            "iteration": 1,
            "state": "PENDING",
            "idempotencyKey": f"orch-{detail['id']}:EXPLORE:1",
            "agents": [],
        }
    ]
    assert [(e["type"], e["actor"]) for e in detail["events"]] == [
        ("CREATED", "olga"),
        ("PHASE_SCHEDULED", "olga"),
    ]
    listed = graphql(operator, '{ orchestrations(status: "PENDING", projectKey: "demo") { id } }')
    assert listed["orchestrations"] == [{"id": detail["id"]}]


def test_graphql_orchestration_list_costs_a_constant_number_of_queries(
    operator, django_assert_max_num_queries
):
    for n in range(5):
        issue = stored_issue(f"Q{n}-1")
        controls.orchestration_start(issue_key=issue.key)
    query = (
        "{ orchestrations { id projectKey phases { phase agents { agent } } approvals { phase } "
        "events { type } } }"
    )
    with django_assert_max_num_queries(9):  # session + user + ids + orchestrations + 4 prefetches (+ slack)
        data = graphql(operator, query)
    assert len(data["orchestrations"]) == 5


def test_graphql_unknown_issue_is_a_typed_error_with_advice(operator, db):
    data = graphql(operator, START, key="NOPE-1")["startOrchestration"]
    (error,) = data["errors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", "issueKey")
    assert "sync" in error["advice"]


def test_rest_start_conflicts_and_controls(operator, issue):
    response = operator.post(
        "/api/orchestrations/", {"issue_key": issue.key}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    orchestration_id = response.json()["id"]
    assert response.json()["phases"][0]["phase"] == "EXPLORE"

    again = operator.post("/api/orchestrations/", {"issue_key": issue.key}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_EXISTS"
    approve = operator.post(
        f"/api/orchestrations/{orchestration_id}/approve/", {}, content_type="application/json"
    )
    assert approve.status_code == 409 and approve.json()["code"] == "CONFLICT"
    assert "not awaiting approval" in approve.json()["message"]
    missing = operator.post("/api/orchestrations/999999/cancel/")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"

    cancelled = operator.post(f"/api/orchestrations/{orchestration_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert [e["type"] for e in cancelled.json()["events"]][-2:] == ["PHASE_CANCELLED", "CANCELLED"]
    retry = operator.post(f"/api/orchestrations/{orchestration_id}/retry/")
    assert retry.status_code == 409
    listing = operator.get("/api/orchestrations/?status=CANCELLED")
    assert [o["id"] for o in listing.json()["results"]] == [orchestration_id]
    assert operator.get("/api/orchestrations/metrics/").json() == {"agents": []}


def test_rest_refuses_anonymous_callers_and_mutations_without_permission(client, viewer, issue):
    from django.test import Client

    assert Client().get("/api/orchestrations/").status_code in (401, 403)
    assert viewer.get("/api/orchestrations/").status_code == 200
    response = viewer.post("/api/orchestrations/", {"issue_key": issue.key}, content_type="application/json")
    assert response.status_code == 403
    bad = viewer.post("/api/orchestrations/", {}, content_type="application/json")
    assert bad.status_code == 403  # the permission is checked before the input is read
    assert not Orchestration.objects.exists()


def test_admin_shows_a_timeline_and_its_actions_call_the_service(admin_client, issue):
    orchestration = controls.orchestration_start(issue_key=issue.key, actor="alice").orchestration
    page = admin_client.get(f"/admin/orchestration/orchestration/{orchestration.id}/change/").content.decode()
    assert "PHASE_SCHEDULED" in page and "Timeline" in page and "lease_token" not in page
    listing = admin_client.get("/admin/orchestration/orchestration/").content.decode()
    assert issue.key in listing and "PENDING" in listing

    admin_client.post(
        "/admin/orchestration/orchestration/",
        {"action": "cancel", "_selected_action": [orchestration.id]},
    )
    assert Orchestration.objects.get(id=orchestration.id).status == "CANCELLED"


def test_commands_start_an_orchestration_and_print_its_history(issue, capsys):
    call_command("orchestrate", issue.key, "--actor", "cli")
    orchestration_id = int(capsys.readouterr().out.strip())
    controls.orchestration_cancel(orchestration_id=orchestration_id, actor="cli")

    call_command("orchestration_history", str(orchestration_id))
    out = capsys.readouterr().out
    assert "EXPLORE #1 scheduled [cli]" in out and "CANCELLED" in out
    assert "History rebuilds the stored state." in out
    with pytest.raises(CommandError, match="NOT_FOUND"):
        call_command("orchestrate", "NOPE-9")


def test_graphql_mutation_payload_is_json_serialisable_for_all_controls(operator, issue):
    orchestration = controls.orchestration_start(issue_key=issue.key).orchestration
    for mutation in (
        "pauseOrchestration",
        "resumeOrchestration",
        "cancelOrchestration",
        "retryOrchestration",
    ):
        data = graphql(
            operator,
            f'mutation {{ {mutation}(id: "{orchestration.id}") '
            "{ orchestration { status } errors { code } } }",
        )[mutation]
        json.dumps(data)
        assert data["errors"] == [] or mutation == "retryOrchestration"
    assert Orchestration.objects.get(id=orchestration.id).status == "CANCELLED"


def test_state_rebuilt_from_events_equals_the_stored_state_after_every_transition(issue):
    """The engine driven in-process, step by step: replaying the events gives the stored state each time."""
    from orchestration.history import rebuild, stored_state
    from orchestration.services import engine

    orchestration = controls.orchestration_start(issue_key=issue.key, actor="alice").orchestration
    checked = 0

    def check() -> Orchestration:
        nonlocal checked
        row = Orchestration.objects.get(id=orchestration.id)
        assert rebuild(row) == stored_state(row), f"after event {row.events.count()}"
        checked += 1
        return row

    def run_until_it_stops() -> Orchestration:
        row = check()
        while row.status in ("PENDING", "RUNNING"):
            assert engine.advance(row.id, row.step, worker="test") != "noop"
            row = check()
        return row

    assert run_until_it_stops().status == "AWAITING_APPROVAL"
    with pytest.raises(controls.Conflict):
        controls.orchestration_pause(orchestration_id=orchestration.id, actor="bob")
    controls.phase_approve(orchestration_id=orchestration.id, actor="bob", comment="go")
    engine.advance(orchestration.id, check().step, worker="test")  # CODE
    controls.orchestration_pause(orchestration_id=orchestration.id, actor="bob")
    assert check().status == "PAUSED"
    stale = check().step - 1
    assert (
        engine.advance(orchestration.id, stale, worker="test") == "noop"
    )  # the message queued before the pause
    controls.orchestration_resume(orchestration_id=orchestration.id, actor="bob")
    done = run_until_it_stops()

    assert done.status == "SUCCEEDED"
    assert [p.phase for p in done.phases.all()] == ["EXPLORE", "PLAN", "CODE", "TEST", "DOCUMENT"]
    assert done.phases.get(phase="CODE").output["skipped"] is True  # no command configured in the tests
    assert checked >= 8  # many intermediate states were compared, not just the last
