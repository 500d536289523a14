"""The sync app's GraphQL mutations: the sync controls, with errors as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import graphene

from core.errors import ServiceError
from sync import models, selectors
from sync.graphql.queries import project_arg
from sync.graphql.types import SyncJob, SyncRun
from sync.permissions import can_operate_sync
from sync.services import controls, runs


class SyncError(graphene.ObjectType):
    field = graphene.String(description="The argument at fault (camelCase), if one is.")
    message = graphene.String(required=True)
    code = graphene.String(required=True)
    advice = graphene.String()


class SyncControlPayload(graphene.ObjectType):
    sync_job = graphene.Field(SyncJob)
    run = graphene.Field(SyncRun, description="The run this control started or joined, if any.")
    run_created = graphene.Boolean(description="False when the request joined the project's active run.")
    removed = graphene.Int(description="Accounts no longer tracked (removeTrackedUsers).")
    errors = graphene.List(graphene.NonNull(SyncError), required=True)


_ARGUMENT_NAMES = {"project": "projectId", "account_ids": "accountIds"}

# What a control returns, reduced to the payload's parts: a job, a run request, or a count.
ControlResult = models.SyncJob | runs.SyncRequest | int | None


def _error(exc: ServiceError) -> SyncError:
    field = _ARGUMENT_NAMES.get(exc.field, exc.field) if exc.field else None
    return SyncError(code=str(exc.code), message=exc.message, field=field, advice=exc.advice or None)


def control(
    info: graphene.ResolveInfo, project_id: str, act: Callable[[models.Project, str], ControlResult]
) -> SyncControlPayload:
    """Check the permission, find the project, run one control, and render its result or typed error."""
    user = info.context.user
    if not can_operate_sync(user):
        denied = SyncError(
            code="PERMISSION_DENIED",
            message="Operating syncs needs staff or the sync.operate_sync permission (Sync operators group)",
            field=None,
        )
        return SyncControlPayload(errors=[denied])
    try:
        project = project_arg(project_id, "projectId")
        result = act(project, user.get_username())
    except ServiceError as exc:
        return SyncControlPayload(errors=[_error(exc)])
    payload = SyncControlPayload(sync_job=selectors.sync_job_of(project), errors=[])
    if isinstance(result, runs.SyncRequest):
        payload.run, payload.run_created = result.run, result.created
    elif isinstance(result, int):
        payload.removed = result
    return payload


class ControlMutation(graphene.Mutation):
    """A mutation calling one function of ``sync.services.controls``; its arguments (besides projectId)
    are that function's keyword arguments."""

    class Meta:
        abstract = True

    Output = SyncControlPayload
    service: ClassVar[Callable[..., ControlResult]]
    fixed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def mutate(
        cls, root: None, info: graphene.ResolveInfo, project_id: str, **arguments: Any
    ) -> SyncControlPayload:
        return control(
            info, project_id, lambda p, actor: cls.service(project=p, actor=actor, **cls.fixed, **arguments)
        )


_API = {"trigger": models.SyncRun.Trigger.API}


def _account_ids() -> graphene.List:
    return graphene.List(graphene.NonNull(graphene.String), required=True)


class StartProjectSync(ControlMutation):
    """Resume the schedule and sync now (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        full = graphene.Boolean(default_value=False)

    service = staticmethod(controls.sync_start)
    fixed = _API


class PauseProjectSync(ControlMutation):
    """Stop scheduled runs; manual triggers still work."""

    class Arguments:
        project_id = graphene.ID(required=True)
        note = graphene.String(default_value="")

    service = staticmethod(controls.sync_pause)


class ResumeProjectSync(ControlMutation):
    """Scheduled runs again from the next slot (no run now)."""

    class Arguments:
        project_id = graphene.ID(required=True)

    service = staticmethod(controls.sync_resume)


class RescheduleProjectSync(ControlMutation):
    """Set the operator's cron (5 fields, in the job's time zone)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        cron = graphene.String(required=True)

    service = staticmethod(controls.sync_reschedule)


class TriggerProjectSync(ControlMutation):
    """One run now, paused or not, optionally limited to some accounts (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        full = graphene.Boolean(default_value=False)
        account_ids = graphene.List(graphene.NonNull(graphene.String), default_value=[])

    service = staticmethod(controls.sync_trigger)
    fixed = _API


class AddTrackedUsers(ControlMutation):
    """Track more accounts; their history is backfilled by a run limited to them."""

    class Arguments:
        project_id = graphene.ID(required=True)
        account_ids = _account_ids()

    service = staticmethod(controls.tracked_users_add)


class RemoveTrackedUsers(ControlMutation):
    """Stop tracking accounts; ``purge`` also deletes their stored issues that no tracked account keeps."""

    class Arguments:
        project_id = graphene.ID(required=True)
        account_ids = _account_ids()
        purge = graphene.Boolean(default_value=False)

    service = staticmethod(controls.tracked_users_remove)


class Mutation(graphene.ObjectType):
    start_project_sync = StartProjectSync.Field()
    pause_project_sync = PauseProjectSync.Field()
    resume_project_sync = ResumeProjectSync.Field()
    reschedule_project_sync = RescheduleProjectSync.Field()
    trigger_project_sync = TriggerProjectSync.Field()
    add_tracked_users = AddTrackedUsers.Field()
    remove_tracked_users = RemoveTrackedUsers.Field()
