"""The fake Jira's changelogs (embedded with expand=changelog, paged endpoint) and its signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import pytest
import requests

from fakejira import FakeDataConfig, FakeJira
from sync.services.webhooks import webhook_signature_valid


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    with FakeJira(FakeDataConfig(seed=3, projects={"ALPHA": 40}, changelog_embedded_limit=2)) as started:
        yield started


def _get(fake: FakeJira, path: str, **params: Any) -> Any:
    response = requests.get(
        fake.base_url + path, params=params, auth=(fake.email, fake.api_token), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_generated_changelogs_lead_to_each_issues_state(fake):
    for issue in fake.data.project_issues("ALPHA"):
        statuses = [i for h in issue.changelog for i in h.items if i.field == "status"]
        assert statuses == [] or statuses[-1].to_string == issue.status
        for first, second in pairwise(statuses):
            assert first.to_string == second.from_string
        assert [h.created for h in issue.changelog] == sorted(h.created for h in issue.changelog)
        assert all(issue.created <= h.created <= issue.updated for h in issue.changelog)
        if issue.resolved is not None:
            assert statuses[-1].to_string == "Done" and issue.changelog[-1].created <= issue.updated


def test_search_embeds_the_first_histories_with_the_total(fake):
    issue = next(i for i in fake.data.project_issues("ALPHA") if len(i.changelog) > 2)
    response = requests.post(
        fake.base_url + "/rest/api/3/search/jql",
        json={"jql": f"id = {issue.id}", "fields": ["summary"], "expand": "changelog"},
        auth=(fake.email, fake.api_token),
        timeout=10,
    )
    changelog = response.json()["issues"][0]["changelog"]

    assert changelog["total"] == len(issue.changelog) and len(changelog["histories"]) == 2
    assert [h["id"] for h in changelog["histories"]] == [str(h.id) for h in issue.changelog[:2]]
    item = changelog["histories"][0]["items"][0]
    assert {"field", "fieldtype", "from", "fromString", "to", "toString"} <= set(item)


def test_the_changelog_endpoint_pages_every_history(fake):
    issue = next(i for i in fake.data.project_issues("ALPHA") if len(i.changelog) >= 3)
    first = _get(fake, f"/rest/api/3/issue/{issue.id}/changelog", maxResults=2)
    rest = _get(fake, f"/rest/api/3/issue/{issue.id}/changelog", startAt=2, maxResults=100)

    assert (first["total"], first["isLast"], len(first["values"])) == (len(issue.changelog), False, 2)
    assert rest["isLast"] is True
    assert [h["id"] for h in first["values"] + rest["values"]] == [str(h.id) for h in issue.changelog]


def _bulkfetch(fake: FakeJira, **body: Any) -> requests.Response:
    return requests.post(
        fake.base_url + "/rest/api/3/changelog/bulkfetch",
        json=body,
        auth=(fake.email, fake.api_token),
        timeout=10,
    )


def test_bulkfetch_pages_the_histories_of_many_issues_oldest_first_by_token(fake):
    issues = [i for i in fake.data.project_issues("ALPHA") if i.changelog][:6]
    expected = sorted(
        ((h.created, i.id, n, str(h.id)) for i in issues for n, h in enumerate(i.changelog)),
        key=lambda e: e[:3],
    )
    seen: list[tuple[str, str]] = []  # (issue id, history id) in the order the pages gave them
    token, pages = None, 0
    while True:
        body = _bulkfetch(
            fake,
            issueIdsOrKeys=[i.key for i in issues],
            maxResults=4,
            **({"nextPageToken": token} if token else {}),
        ).json()
        pages += 1
        for entry in body["issueChangeLogs"]:
            seen += [(entry["issueId"], h["id"]) for h in entry["changeHistories"]]
        token = body.get("nextPageToken")
        if token is None:
            break

    assert seen == [(str(issue_id), history) for _, issue_id, _, history in expected]
    assert pages == -(-len(expected) // 4)


def test_bulkfetch_filters_by_field_and_leaves_out_issues_it_cannot_find(fake):
    issue = next(i for i in fake.data.project_issues("ALPHA") if any(
        item.field == "status" for h in i.changelog for item in h.items
    ))  # fmt: skip
    body = _bulkfetch(fake, issueIdsOrKeys=[str(issue.id), "999999"], fieldIds=["status"]).json()

    (entry,) = body["issueChangeLogs"]
    assert entry["issueId"] == str(issue.id) and "nextPageToken" not in body
    assert {item["field"] for h in entry["changeHistories"] for item in h["items"]} == {"status"}
    assert len(entry["changeHistories"]) == sum(
        any(item.field == "status" for item in h.items) for h in issue.changelog
    )


def test_bulkfetch_refuses_what_jira_refuses(fake):
    assert _bulkfetch(fake, issueIdsOrKeys=[]).status_code == 400
    assert _bulkfetch(fake, issueIdsOrKeys=[str(n) for n in range(1001)]).status_code == 400
    assert _bulkfetch(fake, issueIdsOrKeys=["1"], nextPageToken="not-ours").status_code == 400


def test_data_center_has_no_bulkfetch(fake_jira_factory):
    fake = fake_jira_factory(FakeDataConfig(seed=3, projects={"ALPHA": 5}, deployment="DataCenter"))
    response = requests.post(
        fake.base_url + "/rest/api/2/changelog/bulkfetch",
        json={"issueIdsOrKeys": ["1"]},
        headers={"Authorization": f"Bearer {fake.pat}"},
        timeout=10,
    )
    assert response.status_code == 404


def test_mutations_append_histories_with_ids_and_strings(fake):
    data = fake.data
    issue = next(i for i in data.project_issues("ALPHA") if i.status == "To Do")
    before = len(issue.changelog)
    sprint = next(iter(data.sprints.values()))

    data.update_issue(issue.id, status="Done", sprint_ids=[sprint.id], summary="New words")
    data.move_issue(issue.id, "ALPHA")  # same project: no change, no history
    history = issue.changelog[-1]

    assert len(issue.changelog) == before + 1
    assert history.author == data.api_user_id and history.created == issue.updated
    fields = {i.field: i for i in history.items}
    assert (fields["status"].from_value, fields["status"].to_value) == ("10000", "10002")
    assert fields["resolution"].to_string == "Done"
    assert (fields["Sprint"].to_value, fields["Sprint"].to_string) == (str(sprint.id), sprint.name)
    assert fields["summary"].to_string == "New words"
    exported = [r for r in data.export_history("ALPHA") if r["history_id"] == str(history.id)]
    assert [r["field"] for r in exported] == [i.field for i in history.items]
    assert {r["issue_id"] for r in exported} == {str(issue.id)}


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    status = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_registered_webhooks_receive_signed_events_for_each_mutation(fake, receiver):
    url, received = receiver
    secret = "a-secret-of-sufficient-length"
    response = requests.post(
        f"{fake.base_url}/_fake/webhooks", json={"url": url, "secret": secret}, timeout=10
    )
    assert response.status_code == 201
    issue = fake.data.project_issues("ALPHA")[0]

    fake.data.update_issue(issue.id, summary="Changed")
    comment = fake.data.add_comment(issue.id, "Hello")
    fake.data.add_worklog(issue.id, 600)
    fake.data.delete_comment(comment)
    assert fake.webhooks.wait_idle(10)

    events = [json.loads(body) for _, body in received]
    assert sorted(e["webhookEvent"] for e in events) == sorted(
        ["jira:issue_updated", "comment_created", "worklog_created", "comment_deleted"]
    )
    for headers, body in received:
        assert webhook_signature_valid(secret=secret, body=body, header=headers["X-Hub-Signature"])
        assert not webhook_signature_valid(
            secret="another-secret-entirely", body=body, header=headers["X-Hub-Signature"]
        )
    assert len({h["X-Atlassian-Webhook-Identifier"] for h, _ in received}) == 4
    updated = next(e for e in events if e["webhookEvent"] == "jira:issue_updated")
    assert updated["issue"]["id"] == str(issue.id) and updated["changelog"]["id"] == str(
        issue.changelog[-1].id
    )
    listed = requests.get(f"{fake.base_url}/_fake/webhooks", timeout=10).json()
    assert secret not in json.dumps(listed) and len(listed["deliveries"]) == 4


def test_signature_check_needs_sha256_over_the_exact_body():
    body = b'{"webhookEvent":"jira:issue_updated"}'
    digest = hmac.new(b"k" * 20, body, hashlib.sha256).hexdigest()

    assert webhook_signature_valid(secret="k" * 20, body=body, header=f"sha256={digest}")
    assert webhook_signature_valid(secret="k" * 20, body=body, header=f"SHA256={digest.upper()}")
    assert not webhook_signature_valid(secret="k" * 20, body=body + b" ", header=f"sha256={digest}")
    assert not webhook_signature_valid(secret="k" * 20, body=body, header=f"sha1={digest}")
    assert not webhook_signature_valid(secret="k" * 20, body=body, header="")
