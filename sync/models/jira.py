"""Jira data as synced: sites, projects, people, sprints, issues and what hangs off them.

Identity is Jira's numeric id, unique per site: a moved issue keeps its row and changes key and project.
"""

from __future__ import annotations

from django.db import models

from core.crypto import EncryptedTextField


class Deployment(models.TextChoices):
    CLOUD = "cloud", "Cloud"
    DATACENTER = "datacenter", "Data Center"


class AuthKind(models.TextChoices):
    BASIC = "basic", "Email + API token"
    BEARER = "bearer", "Personal access token"


class JiraSite(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    base_url = models.URLField()
    deployment = models.CharField(max_length=16, choices=Deployment.choices, default=Deployment.CLOUD)
    auth_kind = models.CharField(max_length=16, choices=AuthKind.choices, default=AuthKind.BASIC)
    email = models.EmailField(blank=True)
    api_token = EncryptedTextField(help_text="Stored encrypted; never displayed.")
    account_id = models.CharField(max_length=128, blank=True, help_text="The API user's accountId.")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="The API user's zone (JQL dates).")
    sprint_field = models.CharField(max_length=64, blank=True)
    story_points_field = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    webhook_secret = EncryptedTextField(
        blank=True,
        help_text="Signs Jira's webhooks to this site's endpoint. Stored encrypted; never displayed.",
    )
    webhook_rejected = models.PositiveIntegerField(
        default=0, help_text="Webhooks refused for a bad signature."
    )
    webhook_rejected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.PROTECT, related_name="projects")
    key = models.CharField(max_length=32)
    jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "jira_id"], name="project_unique_jira_id"),
            models.UniqueConstraint(fields=["site", "key"], name="project_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class JiraUser(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="users")
    account_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    account_type = models.CharField(max_length=32, blank=True)
    active = models.BooleanField(default=True)
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "account_id"], name="jirauser_unique_account"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.account_id


class ProjectTrackedUser(models.Model):
    """Limits a project's sync to issues tracked accounts are assigned to, reported or logged work on."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tracked_users")
    user = models.ForeignKey(JiraUser, on_delete=models.CASCADE, related_name="tracked_in")
    is_tracked = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="tracked_user_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}"


class Sprint(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="sprints")
    jira_id = models.BigIntegerField()
    board_id = models.BigIntegerField(null=True, blank=True)
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sprints",
        help_text="The project whose board the sprint was read from.",
    )
    name = models.CharField(max_length=255)
    state = models.CharField(max_length=16, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    complete_date = models.DateTimeField(null=True, blank=True)
    goal = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "jira_id"], name="sprint_unique_jira_id"),
        ]

    def __str__(self) -> str:
        return self.name


class LiveIssueManager(models.Manager["Issue"]):
    def get_queryset(self) -> models.QuerySet[Issue]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Issue(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="issues")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues")
    jira_id = models.BigIntegerField()
    key = models.CharField(max_length=64)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=128, blank=True)
    status_category = models.CharField(max_length=32, blank=True)
    priority = models.CharField(max_length=64, blank=True)
    issue_type = models.CharField(max_length=64, blank=True)
    assignee = models.ForeignKey(
        JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_issues"
    )
    reporter = models.ForeignKey(
        JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_issues"
    )
    parent_jira_id = models.BigIntegerField(null=True, blank=True)
    labels = models.JSONField(default=list, blank=True)
    story_points = models.FloatField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    resolved = models.DateTimeField(null=True, blank=True)
    description_adf = models.JSONField(null=True, blank=True)
    description_text = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="Fields we do not model, as Jira sent them.")
    sprints = models.ManyToManyField(Sprint, through="IssueSprint", related_name="issues")
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    objects = models.Manager()
    live = LiveIssueManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "jira_id"], name="issue_unique_jira_id"),
        ]
        indexes = [
            models.Index(fields=["project", "updated"], name="issue_project_updated"),
            models.Index(fields=["site", "key"], name="issue_site_key"),
        ]

    def __str__(self) -> str:
        return self.key


class IssueSprint(models.Model):
    """Every sprint an issue has been in (a carried-over issue holds several)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE)
    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "sprint"], name="issue_sprint_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} in sprint {self.sprint_id}"


class Comment(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    jira_id = models.BigIntegerField()
    author = models.ForeignKey(JiraUser, null=True, on_delete=models.SET_NULL, related_name="+")
    update_author = models.ForeignKey(JiraUser, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField()
    updated = models.DateTimeField()
    body_adf = models.JSONField(null=True, blank=True)
    body_text = models.TextField(blank=True)
    visibility = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "jira_id"], name="comment_unique_jira_id"),
        ]

    def __str__(self) -> str:
        return f"comment {self.jira_id}"


class Worklog(models.Model):
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="worklogs")
    jira_id = models.BigIntegerField()
    author = models.ForeignKey(JiraUser, null=True, on_delete=models.SET_NULL, related_name="+")
    update_author = models.ForeignKey(JiraUser, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField()
    updated = models.DateTimeField()
    started = models.DateTimeField()
    time_spent_seconds = models.PositiveIntegerField(default=0)
    comment_adf = models.JSONField(null=True, blank=True)
    comment_text = models.TextField(blank=True)
    visibility = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "jira_id"], name="worklog_unique_jira_id"),
        ]

    def __str__(self) -> str:
        return f"worklog {self.jira_id}"


class IssueChange(models.Model):
    """One item of an issue's Jira changelog (a history holds one or more items, kept in Jira's order)."""

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="changes")
    history_id = models.BigIntegerField(help_text="Jira's changelog history id.")
    item_index = models.PositiveSmallIntegerField(help_text="Position of the item in its history.")
    author = models.ForeignKey(JiraUser, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField()
    field = models.CharField(max_length=255)
    field_type = models.CharField(max_length=32, blank=True)
    field_id = models.CharField(max_length=64, blank=True)
    # Jira tells "no value" (null) from an empty one, and the history export keeps that difference.
    from_value = models.TextField(null=True, blank=True)  # noqa: DJ001
    from_string = models.TextField(null=True, blank=True)  # noqa: DJ001
    to_value = models.TextField(null=True, blank=True)  # noqa: DJ001
    to_string = models.TextField(null=True, blank=True)  # noqa: DJ001

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "history_id", "item_index"], name="issuechange_unique_jira_item"
            ),
        ]
        indexes = [
            models.Index(fields=["issue", "created"], name="issuechange_issue_created"),
            models.Index(fields=["site", "field", "created"], name="issuechange_field_created"),
        ]

    def __str__(self) -> str:
        return f"{self.field} of issue {self.issue_id} in history {self.history_id}"
