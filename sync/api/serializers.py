"""REST representations (read) and action inputs; field names are snake_case, ids are Jira's."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from sync import models, selectors


class UserSerializer(serializers.ModelSerializer[models.JiraUser]):
    class Meta:
        model = models.JiraUser
        fields = ("account_id", "display_name", "active", "account_type")


class SprintSerializer(serializers.ModelSerializer[models.Sprint]):
    id = serializers.IntegerField(source="jira_id")

    class Meta:
        model = models.Sprint
        fields = ("id", "board_id", "name", "state", "start_date", "end_date", "complete_date", "goal")


class CommentSerializer(serializers.ModelSerializer[models.Comment]):
    id = serializers.CharField(source="jira_id")
    author = UserSerializer(allow_null=True)
    body = serializers.CharField(source="body_text")

    class Meta:
        model = models.Comment
        fields = ("id", "author", "body", "body_adf", "created", "updated")


class WorklogSerializer(serializers.ModelSerializer[models.Worklog]):
    id = serializers.CharField(source="jira_id")
    author = UserSerializer(allow_null=True)
    comment = serializers.CharField(source="comment_text")

    class Meta:
        model = models.Worklog
        fields = ("id", "author", "time_spent_seconds", "started", "created", "updated", "comment")


class IssueSerializer(serializers.ModelSerializer[models.Issue]):
    id = serializers.CharField(source="jira_id")
    assignee = UserSerializer(allow_null=True)
    reporter = UserSerializer(allow_null=True)
    parent_id = serializers.SerializerMethodField()
    sprint_ids = serializers.SerializerMethodField()

    class Meta:
        model = models.Issue
        fields = (
            "id",
            "key",
            "summary",
            "status",
            "status_category",
            "priority",
            "issue_type",
            "labels",
            "story_points",
            "created",
            "updated",
            "resolved",
            "assignee",
            "reporter",
            "parent_id",
            "sprint_ids",
        )

    def get_parent_id(self, issue: models.Issue) -> str | None:
        return None if issue.parent_jira_id is None else str(issue.parent_jira_id)

    def get_sprint_ids(self, issue: models.Issue) -> list[int]:
        return [s.jira_id for s in selectors.issue_sprints(issue)]


class IssueDetailSerializer(IssueSerializer):
    sprint = serializers.SerializerMethodField()
    sprints = SprintSerializer(many=True, source="prefetched_sprints")
    comments = CommentSerializer(many=True, source="prefetched_comments")
    worklogs = WorklogSerializer(many=True, source="prefetched_worklogs")

    class Meta(IssueSerializer.Meta):
        fields: tuple[str, ...] = (  # type: ignore[assignment]
            *IssueSerializer.Meta.fields,
            "description_text",
            "sprint",
            "sprints",
            "comments",
            "worklogs",
        )

    def get_sprint(self, issue: models.Issue) -> dict[str, Any] | None:
        sprint = selectors.current_sprint(issue)
        return None if sprint is None else SprintSerializer(sprint).data


class SyncJobSerializer(serializers.ModelSerializer[models.SyncJob]):
    project = serializers.CharField(source="project.key")
    effective_cron = serializers.SerializerMethodField()
    workflow_id = serializers.IntegerField(source="workflow_run_id", allow_null=True, default=None)
    schedule_id = serializers.IntegerField(source="periodic_task_id", allow_null=True)

    class Meta:
        model = models.SyncJob
        fields = (
            "id",
            "project",
            "status",
            "cron",
            "effective_cron",
            "time_zone",
            "workflow_id",
            "schedule_id",
            "paused_note",
            "paused_by",
            "paused_at",
            "last_run_at",
            "next_run_at",
            "last_error_code",
        )

    def get_effective_cron(self, job: models.SyncJob) -> str:
        return job.effective_cron or job.cron


class ProjectSerializer(serializers.ModelSerializer[models.Project]):
    id = serializers.CharField(source="jira_id")
    site = serializers.CharField(source="site.name")
    sync_job = SyncJobSerializer(allow_null=True)

    class Meta:
        model = models.Project
        fields = ("id", "key", "name", "site", "sync_job")


class SyncStateSerializer(serializers.ModelSerializer[models.SyncState]):
    class Meta:
        model = models.SyncState
        fields = ("entity", "status", "last_sync_time", "last_error_code", "updated_at")


class SyncRunSerializer(serializers.ModelSerializer[models.SyncRun]):
    class Meta:
        model = models.SyncRun
        fields = (
            "id",
            "status",
            "trigger",
            "full",
            "account_ids",
            "step",
            "window_start",
            "window_end",
            "issues_done",
            "approx_total",
            "counts",
            "request_total",
            "coalesced",
            "attempt",
            "error_code",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        )


class SyncLogSerializer(serializers.ModelSerializer[models.SyncLog]):
    class Meta:
        model = models.SyncLog
        fields = ("id", "run_id", "level", "message", "details", "created_at")


# --- Inputs --------------------------------------------------------------------------------------


class IssueFilterInput(serializers.Serializer[selectors.IssueFilters]):
    updated_since = serializers.DateTimeField(required=False)
    assignee = serializers.CharField(required=False, help_text="accountId")
    status = serializers.CharField(required=False, help_text="Status name")
    sprint = serializers.IntegerField(required=False, min_value=1, help_text="Jira's sprint id")

    def filters(self) -> selectors.IssueFilters:
        data = self.validated_data
        return selectors.IssueFilters(
            updated_since=data.get("updated_since"),
            assignee=data.get("assignee", ""),
            status=data.get("status", ""),
            sprint_id=data.get("sprint"),
        )


class LimitInput(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=selectors.MAX_TRAIL_LIMIT)


def _account_ids(**kwargs: Any) -> serializers.ListField:
    # Blank ids reach the service, which names the field in its error (one validation for all interfaces).
    return serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), **kwargs
    )


class StartInput(serializers.Serializer[dict[str, Any]]):
    full = serializers.BooleanField(default=False)


class TriggerInput(StartInput):
    account_ids = _account_ids(default=list, help_text="Limit the run to issues of these accounts")


class PauseInput(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(default="", allow_blank=True)


class RescheduleInput(serializers.Serializer[dict[str, Any]]):
    cron = serializers.CharField(help_text="5 fields: minute hour day-of-month month day-of-week")


class TrackedUsersInput(serializers.Serializer[dict[str, Any]]):
    account_ids = _account_ids()


class TrackedUsersRemoveInput(TrackedUsersInput):
    purge = serializers.BooleanField(
        default=False, help_text="Also delete their issues no tracked account keeps"
    )


class ControlResultSerializer(serializers.Serializer[dict[str, Any]]):
    sync_job = SyncJobSerializer()
    run = SyncRunSerializer(allow_null=True)
    run_created = serializers.BooleanField(allow_null=True)
    removed = serializers.IntegerField(allow_null=True)


class IssueChangeSerializer(serializers.ModelSerializer[models.IssueChange]):
    history_id = serializers.CharField()
    author = UserSerializer(allow_null=True)
    # "from" is a Python keyword: the field is renamed in to_representation.
    from_value = serializers.CharField(allow_null=True)
    to = serializers.CharField(source="to_value", allow_null=True)

    class Meta:
        model = models.IssueChange
        fields = (
            "history_id",
            "created",
            "author",
            "field",
            "field_type",
            "from_value",
            "to",
            "from_string",
            "to_string",
        )

    def to_representation(self, instance: models.IssueChange) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["from"] = data.pop("from_value")
        return data


class IssueHistorySerializer(serializers.ModelSerializer[models.Issue]):
    id = serializers.CharField(source="jira_id")
    history = IssueChangeSerializer(source="prefetched_changes", many=True)
    time_in_status = serializers.SerializerMethodField()

    class Meta:
        model = models.Issue
        fields = ("id", "key", "created", "status", "time_in_status", "history")

    def get_time_in_status(self, issue: models.Issue) -> list[dict[str, Any]]:
        return [{"status": t.status, "seconds": t.seconds} for t in selectors.time_in_status(issue)]


class SprintScopeChangeSerializer(serializers.Serializer[Any]):  # reads selectors.SprintScopeChange
    issue = IssueSerializer()
    change = serializers.CharField()
    at = serializers.DateTimeField()
    author = UserSerializer(allow_null=True)
    history_id = serializers.CharField()
