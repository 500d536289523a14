"""REST renderings of orchestrations (read-only: every change goes through the controls service)."""

from __future__ import annotations

from rest_framework import serializers

from orchestration.models import AgentExecution, Approval, Event, Orchestration, PhaseExecution


class AgentExecutionSerializer(serializers.ModelSerializer[AgentExecution]):
    class Meta:
        model = AgentExecution
        fields = [
            "agent", "attempt", "status", "duration_ms", "result", "error_code", "error_type",
            "error_message", "input_tokens", "output_tokens", "cost_usd", "started_at", "finished_at",
        ]  # fmt: skip


class PhaseExecutionSerializer(serializers.ModelSerializer[PhaseExecution]):
    agents = AgentExecutionSerializer(many=True, read_only=True)

    class Meta:
        model = PhaseExecution
        fields = [
            "phase", "iteration", "attempt", "state", "idempotency_key", "checkpoint", "output", "artifacts",
            "error_code", "error_message", "worker", "next_attempt_at", "started_at", "finished_at", "agents",
        ]  # fmt: skip


class ApprovalSerializer(serializers.ModelSerializer[Approval]):
    class Meta:
        model = Approval
        fields = ["phase", "requested_at", "decision", "decided_by", "decided_at", "comment"]


class EventSerializer(serializers.ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["seq", "type", "payload", "actor", "correlation_id", "created_at"]


class OrchestrationSerializer(serializers.ModelSerializer[Orchestration]):
    project_key = serializers.CharField(source="project.key", read_only=True)

    class Meta:
        model = Orchestration
        fields = [
            "id", "issue_key", "project_key", "status", "current_phase", "auto_proceed", "gates",
            "max_fix_attempts", "fix_attempts", "requested_by", "correlation_id", "worker", "next_attempt_at",
            "cancel_requested", "pause_requested", "deadline_at", "error_code", "error_message", "created_at",
            "started_at", "finished_at",
        ]  # fmt: skip


class OrchestrationDetailSerializer(OrchestrationSerializer):
    phases = PhaseExecutionSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(OrchestrationSerializer.Meta):
        fields = [*OrchestrationSerializer.Meta.fields, "phases", "approvals", "events"]


class StartSerializer(serializers.Serializer[None]):
    issue_key = serializers.CharField(max_length=64)
    auto_proceed = serializers.BooleanField(default=False)


class CommentSerializer(serializers.Serializer[None]):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
