"""The sync app's GraphQL mutations: the sync controls, with errors as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import graphene

from core.errors import PermissionDenied
from core.interfaces.graphql import Error, control_payload
from sync import models, selectors
from sync.graphql.queries import project_arg, site_arg
from sync.graphql.registration import Mutation as RegistrationMutation
from sync.graphql.types import SyncJob, SyncRun
from sync.permissions import OPERATE_SYNC_DENIED, can_operate_sync
from sync.services import controls


class SyncControlPayload(graphene.ObjectType):
    sync_job = graphene.Field(SyncJob)
    run = graphene.Field(SyncRun, description="The run this control started or joined, if any.")
    run_created = graphene.Boolean(description="False when the request joined the project's active run.")
    removed = graphene.Int(description="Accounts no longer tracked (removeTrackedUsers).")
    errors = graphene.List(graphene.NonNull(Error), required=True)


_ARGUMENT_NAMES = {"project": "projectId", "account_ids": "accountIds"}


def _render(result: controls.SyncControlResult) -> dict[str, Any]:
    # The job re-read with its active or last run, as the syncJob query shows it.
    return {
        "sync_job": selectors.sync_job_get(project=result.project),
        "run": result.run,
        "run_created": result.run_created,
        "removed": result.removed,
    }


def control(
    info: graphene.ResolveInfo,
    project_id: str,
    act: Callable[[models.Project, str], controls.SyncControlResult],
    site_id: str | None = None,
) -> SyncControlPayload:
    """Check the permission, find the project, run one control, and render its result or typed error."""
    return control_payload(
        info,
        SyncControlPayload,
        may_operate=can_operate_sync,
        denied=PermissionDenied(OPERATE_SYNC_DENIED),
        call=lambda actor: act(project_arg(project_id, "projectId", site_id), actor),
        render=_render,
        argument_names=_ARGUMENT_NAMES,
    )


class ControlMutation(graphene.Mutation):
    """A mutation calling one function of ``sync.services.controls``; its arguments (besides projectId)
    are that function's keyword arguments."""

    class Meta:
        abstract = True

    Output = SyncControlPayload
    service: ClassVar[Callable[..., controls.SyncControlResult]]
    fixed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def mutate(
        cls,
        root: None,
        info: graphene.ResolveInfo,
        project_id: str,
        site_id: str | None = None,
        **arguments: Any,
    ) -> SyncControlPayload:
        return control(
            info,
            project_id,
            lambda p, actor: cls.service(project=p, actor=actor, **cls.fixed, **arguments),
            site_id,
        )


_API = {"trigger": models.SyncRun.Trigger.API}


def _account_ids() -> graphene.List:
    return graphene.List(graphene.NonNull(graphene.String), required=True)


class StartProjectSync(ControlMutation):
    """Resume the schedule and sync now (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        full = graphene.Boolean(default_value=False)

    service = staticmethod(controls.sync_start)
    fixed = _API


class PauseProjectSync(ControlMutation):
    """Stop scheduled runs; manual triggers still work."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        note = graphene.String(default_value="")

    service = staticmethod(controls.sync_pause)


class ResumeProjectSync(ControlMutation):
    """Scheduled runs again from the next slot (no run now)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()

    service = staticmethod(controls.sync_resume)


class RescheduleProjectSync(ControlMutation):
    """Set the operator's cron (5 fields, in the job's time zone)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        cron = graphene.String(required=True)

    service = staticmethod(controls.sync_reschedule)


class TriggerProjectSync(ControlMutation):
    """One run now, paused or not, optionally limited to some accounts (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        full = graphene.Boolean(default_value=False)
        account_ids = graphene.List(graphene.NonNull(graphene.String), default_value=[])

    service = staticmethod(controls.sync_trigger)
    fixed = _API


class AddTrackedUsers(ControlMutation):
    """Track more accounts; their history is backfilled by a run limited to them."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        account_ids = _account_ids()

    service = staticmethod(controls.tracked_users_add)


class RemoveTrackedUsers(ControlMutation):
    """Stop tracking accounts; ``purge`` also deletes their stored issues that no tracked account keeps."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        account_ids = _account_ids()
        purge = graphene.Boolean(default_value=False)

    service = staticmethod(controls.tracked_users_remove)


class CancelProjectSync(ControlMutation):
    """Cancel the project's queued or running sync: it ends CANCELLED at its next step boundary, keeping
    the batches it committed; no cursor moves."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        note = graphene.String(default_value="")

    service = staticmethod(controls.sync_cancel)


class Mutation(RegistrationMutation, graphene.ObjectType):
    start_project_sync = StartProjectSync.Field()
    pause_project_sync = PauseProjectSync.Field()
    resume_project_sync = ResumeProjectSync.Field()
    reschedule_project_sync = RescheduleProjectSync.Field()
    trigger_project_sync = TriggerProjectSync.Field()
    add_tracked_users = AddTrackedUsers.Field()
    remove_tracked_users = RemoveTrackedUsers.Field()
    cancel_project_sync = CancelProjectSync.Field()
