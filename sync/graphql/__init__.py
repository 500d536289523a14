"""GraphQL types, queries and mutations of the sync app (merged in jiraplus/schema.py).

Resolvers only parse arguments, call selectors or services and shape the result. Lists are built by the
root resolvers with everything they return prefetched (see ``selectors.issue_rows``); the field
resolvers then read prefetched caches and never query.
"""

from core.interfaces.graphql import CachePolicy
from sync.graphql.mutations import Mutation
from sync.graphql.queries import Query

__all__ = ["READ_CACHE_POLICY", "Mutation", "Query"]

# What the read cache may serve (core/read_cache.py): the types above, whose fields read only the
# Jira-data tables the cache watches (sync/apps.py), and Project without its syncJob; minus what moves
# with the clock.
READ_CACHE_POLICY = CachePolicy(
    types=frozenset(
        {"Issue", "Comment", "Worklog", "Sprint", "User", "IssueChange", "SprintScopeChange"}
        | {"IssueConnection", "IssueEdge", "PageInfo", "Project"}
    ),
    clock_dependent=frozenset({("Issue", "timeInStatus")}),
)
