"""Every field map against the faces that derive from it: the serializer renders exactly the map's REST
fields, reading the map's attributes, and the graphene type has the map's GraphQL fields with its nulls."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLNonNull
from rest_framework import serializers

from core.interfaces.fields import Field, FieldMap, graphene_fields, model_fields, serializer_fields
from jiraplus.schema import schema
from orchestration import fieldmaps as orchestration_maps
from orchestration.api import serializers as orchestration_rest
from sync import fieldmaps as sync_maps
from sync import models
from sync.api import serializers as sync_rest

SERIALIZERS: list[tuple[FieldMap, type[serializers.ModelSerializer[Any]]]] = [
    (sync_maps.USER, sync_rest.UserSerializer),
    (sync_maps.SPRINT, sync_rest.SprintSerializer),
    (sync_maps.COMMENT, sync_rest.CommentSerializer),
    (sync_maps.WORKLOG, sync_rest.WorklogSerializer),
    (sync_maps.ISSUE_CHANGE, sync_rest.IssueChangeSerializer),
    (sync_maps.ISSUE, sync_rest.IssueSerializer),
    (sync_maps.ISSUE_DETAIL, sync_rest.IssueDetailSerializer),
    (sync_maps.ISSUE_HISTORY, sync_rest.IssueHistorySerializer),
    (sync_maps.SYNC_JOB, sync_rest.SyncJobSerializer),
    (sync_maps.PROJECT, sync_rest.ProjectSerializer),
    (sync_maps.SYNC_STATE, sync_rest.SyncStateSerializer),
    (sync_maps.SYNC_RUN, sync_rest.SyncRunSerializer),
    (sync_maps.SYNC_LOG, sync_rest.SyncLogSerializer),
    (orchestration_maps.AGENT_EXECUTION, orchestration_rest.AgentExecutionSerializer),
    (orchestration_maps.PHASE_EXECUTION, orchestration_rest.PhaseExecutionSerializer),
    (orchestration_maps.APPROVAL, orchestration_rest.ApprovalSerializer),
    (orchestration_maps.EVENT, orchestration_rest.EventSerializer),
    (orchestration_maps.ORCHESTRATION, orchestration_rest.OrchestrationSerializer),
    (orchestration_maps.ORCHESTRATION_DETAIL, orchestration_rest.OrchestrationDetailSerializer),
]

GRAPHENE_TYPES: list[tuple[FieldMap, str]] = [
    (sync_maps.USER, "User"),
    (sync_maps.SPRINT, "Sprint"),
    (sync_maps.COMMENT, "Comment"),
    (sync_maps.WORKLOG, "Worklog"),
    (sync_maps.ISSUE_CHANGE, "IssueChange"),
    (sync_maps.ISSUE_TYPE, "Issue"),
    (sync_maps.SYNC_JOB, "SyncJob"),
    (sync_maps.PROJECT, "Project"),
    (sync_maps.SYNC_STATE, "SyncState"),
    (sync_maps.SYNC_RUN, "SyncRun"),
    (sync_maps.SYNC_LOG, "SyncLog"),
    (orchestration_maps.AGENT_EXECUTION, "OrchestrationAgentExecution"),
    (orchestration_maps.PHASE_EXECUTION, "OrchestrationPhase"),
    (orchestration_maps.APPROVAL, "OrchestrationApproval"),
    (orchestration_maps.EVENT, "OrchestrationEvent"),
    (orchestration_maps.ORCHESTRATION_DETAIL, "Orchestration"),
]

# Fields REST declares under another name ("from" is a Python keyword) and renames when rendering.
RENAMED = {"from_value": "from"}
# Fields whose nullability DRF does not declare (methods, pass-through reads, nested lists).
UNDECLARED_NULL = (serializers.SerializerMethodField, serializers.ReadOnlyField, serializers.ListSerializer)


def _rest_fields(
    serializer: type[serializers.ModelSerializer[Any]],
) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    return {RENAMED.get(name, name): field for name, field in serializer().fields.items()}


@pytest.mark.parametrize(("fmap", "serializer"), SERIALIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_serializer_renders_the_maps_rest_fields_from_its_attributes(fmap, serializer):
    assert serializer.Meta.model is fmap.model
    fields = _rest_fields(serializer)
    assert list(fields) == list(serializer_fields(fmap))
    for spec in fmap.rest():
        field = fields[spec.name]
        assert field.source == fmap.source(spec.name), spec.name
        if not isinstance(field, UNDECLARED_NULL):
            assert field.allow_null == spec.null, spec.name


def test_the_renamed_rest_field_is_rendered_under_the_maps_name():
    change = models.IssueChange(history_id=7, field="status", field_type="jira", from_value="1", to_value="3")
    rendered = sync_rest.IssueChangeSerializer(change).data
    # The rename moves "from" to the end of the rendering, as it always did.
    assert sorted(rendered) == sorted(serializer_fields(sync_maps.ISSUE_CHANGE))


@pytest.mark.parametrize(("fmap", "type_name"), GRAPHENE_TYPES, ids=lambda v: v if isinstance(v, str) else "")
def test_the_graphene_type_has_the_maps_graphql_fields_with_their_nulls(fmap, type_name):
    graphql_type = schema.graphql_schema.get_type(type_name)
    assert graphql_type is not None
    nullable = {name: not isinstance(f.type, GraphQLNonNull) for name, f in graphql_type.fields.items()}
    for spec in fmap.graphql():
        assert spec.graphql_name in nullable, spec.graphql_name
        assert nullable[spec.graphql_name] == spec.null, spec.graphql_name
        if spec.description:  # else graphene-django may describe it with the model field's help text
            assert graphql_type.fields[spec.graphql_name].description == spec.description
    # Every field the type has is mapped: nothing reaches one API unseen.
    assert set(nullable) == {spec.graphql_name for spec in fmap.graphql()}


def test_maps_derive_the_model_lists():
    assert "jira_id" in model_fields(sync_maps.ISSUE)
    assert "assignee_id" in model_fields(sync_maps.ISSUE, attname=True)
    assert "parent_id" not in model_fields(sync_maps.ISSUE)  # computed, REST only
    assert "key" in graphene_fields(sync_maps.ISSUE_TYPE)
    assert "id" not in graphene_fields(sync_maps.ISSUE_TYPE)  # Jira's id, declared on the type


def test_a_name_one_api_renders_twice_is_refused():
    with pytest.raises(ValueError, match="mapped twice"):
        FieldMap(models.Sprint, (Field("name"), Field("name", "goal")))
