"""The served GraphQL schema is compatible with the spec's: every operation written against the spec's SDL
still validates and gets what it expects (graphql-core's find_breaking_changes is empty). The dangerous
changes it lists are pinned here and justified in docs/api.md (Compatibility with the spec)."""

from __future__ import annotations

from graphql import (
    GraphQLSchema,
    build_client_schema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    introspection_from_schema,
)

from jiraplus.schema import schema

# The spec's SDL, verbatim.
SPEC_TYPES = """
type Issue { id: ID! key: String! summary: String! status: String! priority: String assignee: User
  updated: DateTime! sprint: Sprint comments: [Comment!]! worklogs: [Worklog!]! }
type Comment { id: ID! author: User! body: String! created: DateTime! updated: DateTime }
type Worklog { id: ID! author: User! timeSpent: Int started: DateTime! updated: DateTime! }
type Sprint { id: ID! name: String! state: String! startDate: DateTime endDate: DateTime }
type SyncState { entity: String! lastSyncTime: DateTime! status: String! }
type SyncJob { id: ID! workflowId: String! scheduleId: String! cronSchedule: String! status: SyncJobStatus!
  lastRunAt: DateTime nextRunAt: DateTime }
enum SyncJobStatus { ACTIVE PAUSED ERROR }
enum SyncStatus { IDLE RUNNING SUCCESS FAILED }
"""

# What the spec names without defining: its scalar and user, and the untyped returns of its operations,
# read as the served types with only the fields the spec implies (docs/api.md says how).
SPEC_UNDEFINED = """
scalar DateTime
type User { accountId: String! displayName: String }
type SyncLog { level: String! message: String! createdAt: DateTime! }
type JiraProjectOption { id: ID! key: String! name: String! }
type JiraUserOption { accountId: String! displayName: String! }
type SyncControlPayload { syncJob: SyncJob }

type Query {
  syncStates(projectId: ID!): [SyncState!]!
  syncLogs(projectId: ID!, limit: Int): [SyncLog!]!
  jiraProjectOptions: [JiraProjectOption!]!
  jiraProjectUserOptions: [JiraUserOption!]!
}

type Mutation {
  startProjectSync(projectId: ID!, full: Boolean): SyncControlPayload
  pauseProjectSync(projectId: ID!): SyncControlPayload
  resumeProjectSync(projectId: ID!): SyncControlPayload
  rescheduleProjectSync(projectId: ID!, cron: String!): SyncControlPayload
  triggerProjectSync(projectId: ID!, full: Boolean, accountIds: [String!]): SyncControlPayload
}
"""

# Each justified in docs/api.md.
EXPECTED_DANGEROUS = {
    "ARG_DEFAULT_VALUE_CHANGE": set(),
    "OPTIONAL_ARG_ADDED": {
        "An optional arg level on Query.syncLogs was added.",
        "An optional arg siteId on Query.jiraProjectOptions was added.",
        "An optional arg projectId on Query.jiraProjectUserOptions was added.",
        "An optional arg note on Mutation.pauseProjectSync was added.",
        # A project key may exist on several sites: each operation naming a project can name its site.
        *(
            f"An optional arg siteId on {operation} was added."
            for operation in (
                "Query.syncStates",
                "Query.syncLogs",
                "Query.jiraProjectUserOptions",
                "Mutation.startProjectSync",
                "Mutation.pauseProjectSync",
                "Mutation.resumeProjectSync",
                "Mutation.rescheduleProjectSync",
                "Mutation.triggerProjectSync",
            )
        ),
    },
    # A project unregistered with its data kept still lists its job: nothing ticks it, every control
    # refuses it (CONFLICT), and registering it again makes it ACTIVE.
    "VALUE_ADDED_TO_ENUM": {"UNREGISTERED was added to enum type SyncJobStatus."},
}


def spec_schema() -> GraphQLSchema:
    return build_schema(SPEC_TYPES + SPEC_UNDEFINED)


def served_schema() -> GraphQLSchema:
    # As clients see it (introspection): graphene subclasses graphql-core's types, which the comparison
    # would otherwise report as a scalar "changed kind" from Scalar to Scalar.
    return build_client_schema(introspection_from_schema(schema.graphql_schema))


def test_the_spec_sdl_builds_with_every_type_it_names():
    spec = spec_schema()
    assert {"Issue", "SyncJob", "SyncState", "SyncStatus", "SyncJobStatus"} <= set(spec.type_map)
    assert spec.mutation_type is not None and len(spec.mutation_type.fields) == 5


def test_the_served_schema_breaks_nothing_the_spec_defines():
    assert [change.description for change in find_breaking_changes(spec_schema(), served_schema())] == []


def test_the_dangerous_changes_are_the_documented_ones():
    found: dict[str, set[str]] = {kind: set() for kind in EXPECTED_DANGEROUS}
    for change in find_dangerous_changes(spec_schema(), served_schema()):
        found.setdefault(change.type.name, set()).add(change.description)
    assert found == EXPECTED_DANGEROUS


def test_the_comparison_does_catch_a_breaking_change():
    # The check is not vacuous: the schema served before this work (a nullable ID workflowId, an enum
    # status, a required siteId) is reported.
    before = build_schema(
        SPEC_UNDEFINED.replace("jiraProjectOptions:", "jiraProjectOptions(siteId: ID!):")
        + SPEC_TYPES.replace("workflowId: String!", "workflowId: ID").replace(
            "lastSyncTime: DateTime! status: String!", "lastSyncTime: DateTime status: SyncStatus!"
        )
    )
    changes = {change.description for change in find_breaking_changes(spec_schema(), before)}
    assert changes == {
        "SyncJob.workflowId changed type from String! to ID.",
        "SyncState.lastSyncTime changed type from DateTime! to DateTime.",
        "SyncState.status changed type from String! to SyncStatus!.",
        "A required arg siteId on Query.jiraProjectOptions was added.",
    }
