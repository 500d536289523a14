"""Operators' view: list with status and phase; detail with phases, approvals and a timeline of events;
actions call the controls service (approve, reject, cancel, retry, pause, resume)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.interfaces.admin import ReadOnlyAdmin, actor, operate
from core.interfaces.fields import model_fields
from orchestration import fieldmaps
from orchestration.models import Approval, Orchestration, PhaseExecution
from orchestration.permissions import can_operate_orchestration
from orchestration.services import controls

_DENIED = "You need the orchestration.operate_orchestration permission"


class PhaseInline(admin.TabularInline):
    model = PhaseExecution
    fields = readonly_fields = model_fields(
        fieldmaps.PHASE_EXECUTION.only(
            "phase", "iteration", "attempt", "state", "error_code", "worker", "started_at", "finished_at"
        )
    )
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Orchestration | None = None) -> bool:
        return False


class ApprovalInline(admin.TabularInline):
    model = Approval
    fields = readonly_fields = model_fields(fieldmaps.APPROVAL, rest=True)  # what REST shows, no row id
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Orchestration | None = None) -> bool:
        return False


def _run(
    request: HttpRequest,
    queryset: QuerySet[Orchestration],
    verb: str,
    service: Callable[..., controls.OrchestrationControlResult],
) -> None:
    if not can_operate_orchestration(request.user):  # once for the batch, not once per row
        messages.error(request, _DENIED)
        return
    for orchestration in queryset:

        def control(target: Orchestration = orchestration) -> str:
            service(orchestration_id=target.id, actor=actor(request))
            return f"{target}: {verb}"

        operate(
            request,
            control,
            may_operate=can_operate_orchestration,
            denied=_DENIED,
            prefix=f"{orchestration}: ",
        )


@admin.register(Orchestration)
class OrchestrationAdmin(ReadOnlyAdmin):
    """Read-only: an orchestration starts through the service (GraphQL, REST, manage.py orchestrate) and
    it and its events change only through the controls (the actions below, which check their own
    permission); history is kept, so nothing is deleted here."""

    list_display = [
        "id",
        "issue_key",
        "status",
        "current_phase",
        "fix_attempts",
        "requested_by",
        "created_at",
    ]
    list_filter = ["status", "current_phase", "project"]
    search_fields = ["issue_key"]
    list_select_related = ["project"]
    inlines = [PhaseInline, ApprovalInline]
    exclude = ["lease_token", "issue"]
    readonly_fields = ["timeline"] + [
        f.name for f in Orchestration._meta.fields if f.name not in ("lease_token", "issue", "id")
    ]
    actions = ["approve", "reject", "cancel", "retry", "pause", "resume"]

    @admin.display(description="Timeline")
    def timeline(self, obj: Orchestration) -> SafeString:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (e.seq, e.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], e.type, e.actor, e.payload)
                for e in obj.events.order_by("seq")
            ),
        )
        return format_html(
            "<table><tr><th>#</th><th>At (UTC)</th><th>Event</th><th>Actor</th><th>Details</th></tr>"
            "{}</table>",
            rows,
        )

    @admin.action(description="Approve the pending phase")
    def approve(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "approved", controls.phase_approve)

    @admin.action(description="Reject the pending phase (ends the orchestration)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "rejected", controls.phase_reject)

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "cancel requested", controls.orchestration_cancel)

    @admin.action(description="Retry from the failed phase")
    def retry(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "retrying", controls.orchestration_retry)

    @admin.action(description="Pause")
    def pause(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "pausing", controls.orchestration_pause)

    @admin.action(description="Resume")
    def resume(self, request: HttpRequest, queryset: QuerySet[Orchestration]) -> None:
        _run(request, queryset, "resumed", controls.orchestration_resume)
