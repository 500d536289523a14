"""REST renderings of orchestrations (read-only: every change goes through the controls service)."""

from __future__ import annotations

from rest_framework import serializers

from core.interfaces.fields import serializer_fields
from orchestration import fieldmaps
from orchestration.models import AgentExecution, Approval, Event, Orchestration, PhaseExecution


class AgentExecutionSerializer(serializers.ModelSerializer[AgentExecution]):
    class Meta:
        model = fieldmaps.AGENT_EXECUTION.model
        fields = serializer_fields(fieldmaps.AGENT_EXECUTION)


class PhaseExecutionSerializer(serializers.ModelSerializer[PhaseExecution]):
    agents = AgentExecutionSerializer(many=True, read_only=True)

    class Meta:
        model = fieldmaps.PHASE_EXECUTION.model
        fields = serializer_fields(fieldmaps.PHASE_EXECUTION)


class ApprovalSerializer(serializers.ModelSerializer[Approval]):
    class Meta:
        model = fieldmaps.APPROVAL.model
        fields = serializer_fields(fieldmaps.APPROVAL)


class EventSerializer(serializers.ModelSerializer[Event]):
    class Meta:
        model = fieldmaps.EVENT.model
        fields = serializer_fields(fieldmaps.EVENT)


class OrchestrationSerializer(serializers.ModelSerializer[Orchestration]):
    project_key = serializers.CharField(source=fieldmaps.ORCHESTRATION.source("project_key"), read_only=True)

    class Meta:
        model = fieldmaps.ORCHESTRATION.model
        fields = serializer_fields(fieldmaps.ORCHESTRATION)


class OrchestrationDetailSerializer(OrchestrationSerializer):
    phases = PhaseExecutionSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(OrchestrationSerializer.Meta):
        fields = serializer_fields(fieldmaps.ORCHESTRATION_DETAIL)


class StartSerializer(serializers.Serializer[None]):
    issue_key = serializers.CharField(max_length=64)
    auto_proceed = serializers.BooleanField(default=False)
    site = serializers.CharField(
        required=False, allow_blank=True, help_text="Site id or name, when several sites hold the key"
    )


class CommentSerializer(serializers.Serializer[None]):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
