"""Jira webhooks: verify, record and coalesce events, then re-read the one issue or sprint they name.

An event is a hint, never the truth: the refresh reads the issue (or sprint) from Jira through the same
client and store functions as a sync batch, so newer data always wins and a deleted issue disappears.
Scheduled incremental runs remain the safety net for events that never arrive.

Coalescing: one ``PendingRefresh`` row per issue/sprint. An event bumps its ``generation`` and enqueues a
refresh only when none is queued; the refresh marks the row done only if no event arrived while it read
Jira, otherwise it reads once more. A burst of events therefore costs one or two reads, and the issues of
a site waiting at the same time share one search.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import retention
from core.audit.trail import audited
from core.errors import InvalidInput, NotAuthenticated, NotFound, ServiceError
from core.publish import publish_after_commit
from sync import task_names
from sync.jira.client import JiraClient
from sync.jira.errors import JiraError, JiraErrorCode
from sync.jira.mapping import IssueRecord, MalformedPayload, map_issue, map_sprint, search_fields
from sync.models import Issue, JiraSite, PendingRefresh, Project, Sprint, SyncJob, WebhookEvent
from sync.services import runs, store
from sync.services.engine import ISSUE_EXPAND, complete_overflow
from sync.services.scope import record_in_scope, tracked_account_ids
from sync.services.sites import site_client

logger = logging.getLogger(__name__)

REFRESH_TASK = task_names.REFRESH_FROM_WEBHOOK
ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
MIN_SECRET_LENGTH = 16
REFRESH_BATCH = 50  # issues read in one search: Jira's limit for reconcileIssues


# A database write prepared from a Jira read: reads happen before the refresh's transaction opens.
Apply = Callable[[Counter[str]], None]


class WebhooksDisabled(ServiceError):
    code = "WEBHOOKS_DISABLED"


@dataclass(frozen=True)
class Receipt:
    status: Literal["accepted", "duplicate", "ignored"]
    event: str


# --- Secrets ----------------------------------------------------------------------------------------


@audited("site.webhook_secret", lambda a: f"site {a['site'].name}")
def webhook_secret_set(*, site: JiraSite, secret: str | None = None) -> str:
    """Store the site's webhook secret (encrypted); generates one when none is given. Returns it."""
    secret = secrets.token_urlsafe(32) if secret is None else secret.strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"A webhook secret needs at least {MIN_SECRET_LENGTH} characters",
            field="secret",
            advice="Omit it to have a random one generated",
        )
    site.webhook_secret = secret
    site.save(update_fields=["webhook_secret", "updated_at"])
    return secret


def webhook_signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    scheme, _, received = header.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.strip().lower())


# --- Receiving --------------------------------------------------------------------------------------


def webhook_receive(*, site_id: int, body: bytes, signature: str, identifier: str) -> Receipt:
    """Verify (before parsing), deduplicate and record one delivery; the refresh runs after commit."""
    site = JiraSite.objects.filter(id=site_id).only("id", "name", "webhook_secret").first()
    if site is None:
        logger.warning("webhook refused: no site %s", site_id)
        raise NotFound(f"No Jira site {site_id}", field="site")
    if not site.webhook_secret:
        logger.warning("webhook refused: site %s has no webhook secret", site.name)
        raise WebhooksDisabled(
            f"Webhooks are not enabled for site {site.name}",
            advice="Set a secret with `manage.py jira_site webhook-secret` and register it in Jira",
        )
    if not webhook_signature_valid(secret=site.webhook_secret, body=body, header=signature):
        JiraSite.objects.filter(id=site.id).update(
            webhook_rejected=F("webhook_rejected") + 1, webhook_rejected_at=timezone.now()
        )
        logger.warning("webhook refused: bad signature for site %s (%d bytes)", site.name, len(body))
        raise NotAuthenticated(
            "The webhook signature does not match",
            advice="Register the site's current secret with the webhook in Jira",
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidInput("The webhook body is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidInput("The webhook body is not a JSON object", field="body")
    event = str(payload.get("webhookEvent") or "")
    target = _target(event, payload)
    if target is None:
        return Receipt("ignored", event)
    kind, jira_id = target
    # Without Jira's identifier (older Data Center), the same body delivered twice is still one event.
    identifier = identifier.strip()[:128] or "body:" + hashlib.sha256(body).hexdigest()
    # Like a sync step, without waiting for the WAL flush: a crash may forget this event, and then the
    # next scheduled sync brings the change (events are hints); the answer to Jira gets ~20 ms faster.
    with runs.step_transaction():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    site=site,
                    identifier=identifier,
                    event=event[:64],
                    issue_jira_id=jira_id if kind == PendingRefresh.Kind.ISSUE else None,
                    sprint_jira_id=jira_id if kind == PendingRefresh.Kind.SPRINT else None,
                )
        except IntegrityError:
            return Receipt("duplicate", event)
        _request_refresh(site, kind, jira_id)
    return Receipt("accepted", event)


def webhook_events_purge(
    *, older_than_days: int | None = None, dry_run: bool = False, now: datetime | None = None
) -> int:
    """Forget deliveries past the retention: Jira retries an event for hours, not days."""
    days = settings.WEBHOOK_EVENT_RETENTION_DAYS if older_than_days is None else older_than_days
    before = retention.cutoff(days, now)
    return retention.purge_in_batches(
        lambda: WebhookEvent.objects.filter(received_at__lt=before),
        lambda ids: WebhookEvent.objects.filter(id__in=ids).delete(),
        dry_run=dry_run,
    )


def _target(event: str, payload: dict[str, Any]) -> tuple[str, int] | None:
    """What the event asks us to re-read; None for events we do not follow."""
    if event in ISSUE_EVENTS or event.startswith("comment_"):
        container, key, kind = payload.get("issue"), "id", PendingRefresh.Kind.ISSUE
    elif event.startswith("worklog_"):
        container, key, kind = payload.get("worklog"), "issueId", PendingRefresh.Kind.ISSUE
    elif event.startswith("sprint_"):
        container, key, kind = payload.get("sprint"), "id", PendingRefresh.Kind.SPRINT
    else:
        return None
    value = container.get(key) if isinstance(container, dict) else None
    if not str(value or "").isdigit():
        raise InvalidInput(f"A {event} event without a numeric {kind} id", field="body")
    return kind, int(str(value))


def _request_refresh(site: JiraSite, kind: str, jira_id: int) -> None:
    """Bump the target's generation; enqueue a refresh unless one is already queued (coalescing)."""
    now = timezone.now()
    row, created = PendingRefresh.objects.select_for_update().get_or_create(
        site=site, kind=kind, jira_id=jira_id, defaults={"requested_at": now}
    )
    if not created:
        PendingRefresh.objects.filter(id=row.id).update(
            generation=F("generation") + 1, queued=True, requested_at=now
        )
    if created or not row.queued:
        _enqueue_refresh(row.id, countdown=settings.WEBHOOK_COALESCE_SECONDS)


def _enqueue_refresh(pending_id: int, *, countdown: float) -> None:
    publish_after_commit(REFRESH_TASK, args=[pending_id], queue="sync", countdown=countdown)


# --- Refreshing -------------------------------------------------------------------------------------


def pending_refresh_run(*, pending_id: int) -> Counter[str]:
    """Re-read what a pending row names and store it; a no-op for a duplicate or finished delivery.

    Other issues of the site waiting for a refresh are read in the same Jira request (up to
    ``REFRESH_BATCH``): under a stream of events one task clears many rows, whose own tasks then find
    nothing to do.
    """
    counts: Counter[str] = Counter()
    first = PendingRefresh.objects.select_related("site").filter(id=pending_id, queued=True).first()
    if first is None:
        return counts
    site = first.site
    rows = [first]
    if first.kind == PendingRefresh.Kind.ISSUE:
        rows += PendingRefresh.objects.filter(site=site, kind=first.kind, queued=True).exclude(id=first.id)[
            : REFRESH_BATCH - 1
        ]
    generations = {row.id: row.generation for row in rows}
    apply: Apply
    try:
        with site_client(site=site) as client:
            apply = (
                _read_issues(client, site, [row.jira_id for row in rows], counts)
                if first.kind == PendingRefresh.Kind.ISSUE
                else _read_sprint(client, site, first.jira_id, counts)
            )
    except JiraError as error:
        if error.retryable and first.attempts + 1 < settings.WEBHOOK_REFRESH_MAX_ATTEMPTS:
            with transaction.atomic():
                PendingRefresh.objects.filter(id=first.id).update(attempts=F("attempts") + 1)
                _enqueue_refresh(
                    first.id, countdown=max(error.retry_after or 0.0, 2.0 ** (first.attempts + 1))
                )
            counts["retried"] += 1
            return counts
        logger.warning(
            "webhook refresh of %d %s(s) on %s failed (%s); the next scheduled sync covers it",
            len(rows),
            first.kind,
            site.name,
            error.code,
        )
        apply = _nothing
        counts["failed"] += 1
    with transaction.atomic():
        # Locked in id order, like every other batch, so two refreshes cannot deadlock.
        locked = list(PendingRefresh.objects.select_for_update().filter(id__in=generations).order_by("id"))
        apply(counts)
        read = [row.id for row in locked if row.generation == generations[row.id]]
        PendingRefresh.objects.filter(id__in=read).update(queued=False, attempts=0)
        # An event arrived while we read Jira: read again. Other rows still have their own task queued.
        if first.id not in read:
            _enqueue_refresh(first.id, countdown=0)
            counts["requeued"] += 1
    return counts


def _nothing(counts: Counter[str]) -> None:
    return None


def _read_issues(client: JiraClient, site: JiraSite, jira_ids: list[int], counts: Counter[str]) -> Apply:
    """Read the issues fresh in one search (``reconcileIssues``); an id the search does not return is
    confirmed with its own read (a 404 means deleted)."""
    fields = search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field)
    payloads: dict[int, dict[str, Any]] = {}
    try:
        page = client.search_page(
            f"id in ({', '.join(str(i) for i in jira_ids)}) ORDER BY id ASC",
            fields=fields,
            expand=ISSUE_EXPAND,
            max_results=len(jira_ids),
            reconcile_issues=jira_ids,
        )
        payloads = {int(p["id"]): p for p in page.issues if str(p.get("id", "")).isdigit()}
    except JiraError as error:
        if error.status != 400:  # Jira refuses JQL naming a deleted issue: read them one by one
            raise
    gone: list[int] = []
    for jira_id in jira_ids:
        if jira_id in payloads:
            continue
        try:
            payloads[jira_id] = client.get_issue(str(jira_id), fields=fields, expand=ISSUE_EXPAND)
        except JiraError as error:
            if error.code is not JiraErrorCode.NOT_FOUND:
                raise
            gone.append(jira_id)
    records = []
    for jira_id, payload in payloads.items():
        try:
            record = map_issue(
                payload, sprint_field=site.sprint_field, story_points_field=site.story_points_field
            )
            complete_overflow(client, payload, record, counts)
        except MalformedPayload as problem:
            logger.warning("webhook refresh: issue %s on %s is malformed: %s", jira_id, site.name, problem)
            continue
        records.append(record)
    projects = dict(Project.objects.filter(site=site).values_list("jira_id", "id"))
    # Unregistered with their data kept: neither refreshed nor forgotten.
    kept = set(
        Project.objects.filter(site=site, sync_job__status=SyncJob.Status.UNREGISTERED).values_list(
            "jira_id", flat=True
        )
    )
    records = [r for r in records if r.project_jira_id not in kept]

    def apply(counts: Counter[str]) -> None:
        by_project: dict[Project, list[IssueRecord]] = {}
        for record in records:
            project_id = projects.get(record.project_jira_id or 0)
            project = Project.objects.filter(id=project_id).first() if project_id else None
            tracked = tracked_account_ids(project=project) if project else []
            if project is None or not record_in_scope(record, tracked):
                gone.append(record.jira_id)  # moved to an unregistered project or out of scope
            else:
                by_project.setdefault(project, []).append(record)
        for project, batch in by_project.items():
            counts.update(
                store.apply_issue_batch(
                    site=site, project=project, records=batch, projects_by_jira_id=projects
                )
            )
        _forget_issues(site, gone, counts)

    return apply


def _forget_issues(site: JiraSite, jira_ids: list[int], counts: Counter[str]) -> None:
    if jira_ids:
        deleted = (
            Issue.live.filter(site=site, jira_id__in=jira_ids)
            .exclude(project__sync_job__status=SyncJob.Status.UNREGISTERED)
            .update(deleted_at=timezone.now())
        )
        counts["issues_deleted"] += deleted


def _read_sprint(client: JiraClient, site: JiraSite, jira_id: int, counts: Counter[str]) -> Apply:
    try:
        record = map_sprint(client.get_sprint(jira_id))
    except JiraError as error:
        if error.code is not JiraErrorCode.NOT_FOUND:
            raise

        def delete(counts: Counter[str]) -> None:
            _, deleted = Sprint.objects.filter(site=site, jira_id=jira_id).delete()
            counts["sprints_deleted"] += deleted.get("sync.Sprint", 0)

        return delete
    except MalformedPayload as problem:
        logger.warning("webhook refresh: sprint %s on %s is malformed: %s", jira_id, site.name, problem)
        return _nothing

    def apply(counts: Counter[str]) -> None:
        # A new sprint belongs to the project whose board already holds sprints we know.
        project_id = (
            Sprint.objects.filter(site=site, board_id=record.board_id, project__isnull=False)
            .values_list("project_id", flat=True)
            .first()
        )
        project = Project.objects.filter(id=project_id).first() if project_id else None
        counts["sprints_upserted"] += len(store.upsert_sprints(site, [record], board_project=project))

    return apply
