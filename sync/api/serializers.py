"""REST representations (read) and action inputs; field names are snake_case, ids are Jira's."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.interfaces.fields import serializer_fields
from sync import fieldmaps, models, selectors


class UserSerializer(serializers.ModelSerializer[models.JiraUser]):
    class Meta:
        model = fieldmaps.USER.model
        fields = serializer_fields(fieldmaps.USER)


class SprintSerializer(serializers.ModelSerializer[models.Sprint]):
    id = serializers.IntegerField(source=fieldmaps.SPRINT.source("id"))

    class Meta:
        model = fieldmaps.SPRINT.model
        fields = serializer_fields(fieldmaps.SPRINT)


class CommentSerializer(serializers.ModelSerializer[models.Comment]):
    id = serializers.CharField(source=fieldmaps.COMMENT.source("id"))
    author = UserSerializer(allow_null=True)
    body = serializers.CharField(source=fieldmaps.COMMENT.source("body"))

    class Meta:
        model = fieldmaps.COMMENT.model
        fields = serializer_fields(fieldmaps.COMMENT)


class WorklogSerializer(serializers.ModelSerializer[models.Worklog]):
    id = serializers.CharField(source=fieldmaps.WORKLOG.source("id"))
    author = UserSerializer(allow_null=True)
    comment = serializers.CharField(source=fieldmaps.WORKLOG.source("comment"))

    class Meta:
        model = fieldmaps.WORKLOG.model
        fields = serializer_fields(fieldmaps.WORKLOG)


class BlankAsNullCharField(serializers.CharField):
    """A text the store keeps as "" when Jira has none (a priority), rendered null."""

    def to_representation(self, value: Any) -> Any:  # str or None: CharField's stubs say only str
        return str(value) if value else None


class IssueSerializer(serializers.ModelSerializer[models.Issue]):
    id = serializers.CharField(source=fieldmaps.ISSUE.source("id"))
    priority = BlankAsNullCharField(allow_null=True)
    assignee = UserSerializer(allow_null=True)
    reporter = UserSerializer(allow_null=True)
    parent_id = serializers.SerializerMethodField()
    sprint_ids = serializers.SerializerMethodField()

    class Meta:
        model = fieldmaps.ISSUE.model
        fields = serializer_fields(fieldmaps.ISSUE)

    def get_parent_id(self, issue: models.Issue) -> str | None:
        return None if issue.parent_jira_id is None else str(issue.parent_jira_id)

    def get_sprint_ids(self, issue: models.Issue) -> list[int]:
        return [s.jira_id for s in selectors.issue_sprints(issue=issue)]


class IssueDetailSerializer(IssueSerializer):
    sprint = serializers.SerializerMethodField()
    sprints = SprintSerializer(many=True, source=fieldmaps.ISSUE_DETAIL.source("sprints"))
    comments = CommentSerializer(many=True, source=fieldmaps.ISSUE_DETAIL.source("comments"))
    worklogs = WorklogSerializer(many=True, source=fieldmaps.ISSUE_DETAIL.source("worklogs"))

    class Meta(IssueSerializer.Meta):
        fields = serializer_fields(fieldmaps.ISSUE_DETAIL)

    def get_sprint(self, issue: models.Issue) -> dict[str, Any] | None:
        sprint = selectors.issue_current_sprint(issue=issue)
        return None if sprint is None else SprintSerializer(sprint).data


class SyncJobSerializer(serializers.ModelSerializer[models.SyncJob]):
    project = serializers.CharField(source=fieldmaps.SYNC_JOB.source("project"))
    effective_cron = serializers.SerializerMethodField()
    # Each reads the attribute of its name (the map's source): the model's properties and the selector's
    # workflow_run_id annotation.
    workflow_id = serializers.CharField()
    workflow_run_id = serializers.IntegerField(allow_null=True, default=None)
    schedule_id = serializers.CharField()
    periodic_task_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = fieldmaps.SYNC_JOB.model
        fields = serializer_fields(fieldmaps.SYNC_JOB)

    def get_effective_cron(self, job: models.SyncJob) -> str:
        return job.active_cron


class ProjectSerializer(serializers.ModelSerializer[models.Project]):
    id = serializers.CharField(source=fieldmaps.PROJECT.source("id"))
    site = serializers.CharField(source=fieldmaps.PROJECT.source("site"))
    sync_job = SyncJobSerializer(allow_null=True)

    class Meta:
        model = fieldmaps.PROJECT.model
        fields = serializer_fields(fieldmaps.PROJECT)


class SyncStateSerializer(serializers.ModelSerializer[models.SyncState]):
    class Meta:
        model = fieldmaps.SYNC_STATE.model
        fields = serializer_fields(fieldmaps.SYNC_STATE)


class SyncRunSerializer(serializers.ModelSerializer[models.SyncRun]):
    class Meta:
        model = fieldmaps.SYNC_RUN.model
        fields = serializer_fields(fieldmaps.SYNC_RUN)


class SyncLogSerializer(serializers.ModelSerializer[models.SyncLog]):
    class Meta:
        model = fieldmaps.SYNC_LOG.model
        fields = serializer_fields(fieldmaps.SYNC_LOG)


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


class LogsInput(LimitInput):
    level = serializers.ChoiceField(required=False, choices=models.SyncLog.Level.choices)


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


class CancelInput(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(default="", allow_blank=True, help_text="Why, for the trail")


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
    # "from" is a Python keyword: declared as from_value, renamed in to_representation.
    from_value = serializers.CharField(allow_null=True)
    to = serializers.CharField(source=fieldmaps.ISSUE_CHANGE.source("to"), allow_null=True)

    class Meta:
        model = fieldmaps.ISSUE_CHANGE.model
        fields = tuple(
            "from_value" if name == "from" else name for name in serializer_fields(fieldmaps.ISSUE_CHANGE)
        )

    def to_representation(self, instance: models.IssueChange) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["from"] = data.pop("from_value")
        return data


class IssueHistorySerializer(serializers.ModelSerializer[models.Issue]):
    id = serializers.CharField(source=fieldmaps.ISSUE_HISTORY.source("id"))
    history = IssueChangeSerializer(source=fieldmaps.ISSUE_HISTORY.source("history"), many=True)
    time_in_status = serializers.SerializerMethodField()

    class Meta:
        model = fieldmaps.ISSUE_HISTORY.model
        fields = serializer_fields(fieldmaps.ISSUE_HISTORY)

    def get_time_in_status(self, issue: models.Issue) -> list[dict[str, Any]]:
        return [
            {"status": t.status, "seconds": t.seconds} for t in selectors.issue_time_in_status(issue=issue)
        ]


class SprintScopeChangeSerializer(serializers.Serializer[Any]):  # reads selectors.SprintScopeChange
    issue = IssueSerializer()
    change = serializers.CharField()
    at = serializers.DateTimeField()
    author = UserSerializer(allow_null=True)
    history_id = serializers.CharField()


# --- Onboarding -------------------------------------------------------------------------------------


class SiteSerializer(serializers.ModelSerializer[models.JiraSite]):
    """A site as every API shows it: never its token, email or webhook secret."""

    class Meta:
        model = models.JiraSite
        fields = ["id", "name", "base_url", "deployment", "auth_kind", "time_zone", "verified_at"]


class SiteCredentialsInput(serializers.Serializer[dict[str, Any]]):
    url = serializers.CharField(help_text="e.g. https://your-site.atlassian.net")
    email = serializers.CharField(default="", allow_blank=True, help_text="The token owner's (Cloud)")
    token = serializers.CharField(write_only=True, help_text="Write-only: never returned or logged")
    auth_kind = serializers.ChoiceField(choices=models.AuthKind.choices, default=models.AuthKind.BASIC)


class SiteAddInput(SiteCredentialsInput):
    name = serializers.CharField()


class SiteIdentitySerializer(serializers.Serializer[Any]):
    account_id = serializers.CharField()
    display_name = serializers.CharField()
    time_zone = serializers.CharField()
    deployment_type = serializers.CharField()
    version = serializers.CharField()


class JiraProjectOptionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    key = serializers.CharField()
    name = serializers.CharField()
    registered = serializers.BooleanField()


class RegisterInput(serializers.Serializer[dict[str, Any]]):
    keys = serializers.ListField(child=serializers.CharField(), help_text="Project keys, all or none")
    cron = serializers.CharField(required=False, help_text="5 fields; default SYNC_DEFAULT_CRON")
    account_ids = _account_ids(default=list, help_text="Only sync these accounts' issues")


class UnregisterInput(serializers.Serializer[dict[str, Any]]):
    purge = serializers.BooleanField(default=False, help_text="Also delete the project's data")


class UnregisteredSerializer(serializers.Serializer[Any]):
    project_key = serializers.CharField()
    site = serializers.CharField()
    purged = serializers.BooleanField()
    issues = serializers.IntegerField(help_text="Issues kept, or deleted when purged")
