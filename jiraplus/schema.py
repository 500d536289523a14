"""Root GraphQL schema: each app contributes its own ``Query`` and ``Mutation``.

They come from sync.graphql, orchestration.schema, notifications.graphql and ops.graphql (ops is wired
here only: no app imports it).
"""

import graphene

import sync.graphql
from core import scopes
from notifications.graphql import Mutation as NotificationsMutation
from notifications.graphql import Query as NotificationsQuery
from ops.graphql import Query as OpsQuery
from orchestration.schema import Mutation as OrchestrationMutation
from orchestration.schema import Query as OrchestrationQuery


class Query(sync.graphql.Query, OrchestrationQuery, NotificationsQuery, OpsQuery, graphene.ObjectType):
    ping = graphene.String(description="Liveness probe for clients.")

    @staticmethod
    def resolve_ping(root: object, info: graphene.ResolveInfo) -> str:
        return "pong"


class Mutation(sync.graphql.Mutation, OrchestrationMutation, NotificationsMutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
# Orchestration types are outside it: they change without the synced-data writes the cache watches.
READ_CACHE_POLICY = sync.graphql.READ_CACHE_POLICY

# The token scope of each top-level field (core/scopes.py). A query needs `read` unless named here; a mutation
# needs `admin` unless named here.
_OPERATE = [
    "startProjectSync",
    "pauseProjectSync",
    "resumeProjectSync",
    "rescheduleProjectSync",
    "triggerProjectSync",
    "cancelProjectSync",
    "addTrackedUsers",
    "removeTrackedUsers",
    "startOrchestration",
    "pauseOrchestration",
    "resumeOrchestration",
    "cancelOrchestration",
    "retryOrchestration",
    "approvePhase",
    "rejectPhase",
]
FIELD_SCOPES = {
    **{f"Mutation.{name}": scopes.OPERATE for name in _OPERATE},
    "Mutation.sendMessage": scopes.NOTIFY,
    # Onboarding: Jira's project list asks Jira with the site's credentials, as registering does.
    "Query.jiraProjectOptions": scopes.ADMIN,
    **{
        f"Mutation.{name}": scopes.ADMIN
        for name in ("testJiraSite", "addJiraSite", "registerJiraProjects", "unregisterJiraProject")
    },
}
