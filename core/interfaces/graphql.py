"""The /graphql endpoint: DRF authentication (token header or session with CSRF), throttling, query depth and
alias limits, and errors that carry a code and field but never an unexpected exception's text."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import graphene
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from graphene.validation import depth_limit_validator
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    ValidationContext,
    ValidationRule,
    Visitor,
    get_named_type,
    is_leaf_type,
    parse,
    visit,
)
from rest_framework.decorators import api_view
from rest_framework.request import Request

from core import read_cache, scopes
from core.errors import PermissionDenied, ServiceError
from core.interfaces.errors import describe, internal_error


def alias_limit_validator(max_aliases: int) -> type[ValidationRule]:
    """Refuse documents with more than ``max_aliases`` aliased fields (one field asked 1,000 times over)."""

    class AliasLimitValidator(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *args: Any) -> None:
            if node.alias is None:
                return
            self.aliases += 1
            if self.aliases == max_aliases + 1:
                self.report_error(
                    GraphQLError(
                        f"The query uses more than {max_aliases} aliases",
                        node,
                        extensions={"code": "TOO_MANY_ALIASES", "field": None},
                    )
                )

    return AliasLimitValidator


@dataclass(frozen=True)
class CachePolicy:
    """Which object types a shareable read may touch, and which of their fields move with the clock."""

    types: frozenset[str]
    clock_dependent: frozenset[tuple[str, str]] = frozenset()


class _ReadsCacheableData(Visitor):
    """Clears ``cacheable`` at the first field outside the policy's types."""

    def __init__(self, type_info: TypeInfo, policy: CachePolicy) -> None:
        super().__init__()
        self.type_info = type_info
        self.policy = policy
        self.cacheable = True

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        parent, field = self.type_info.get_parent_type(), self.type_info.get_field_def()
        if parent is None or field is None:  # not in the schema: validation will say so, uncached
            self.cacheable = False
            return
        returned = get_named_type(field.type)
        if (
            not (is_leaf_type(returned) or returned.name in self.policy.types)
            or (parent.name, node.name.value) in self.policy.clock_dependent
        ):
            self.cacheable = False


def _operation(query: str, operation_name: str | None) -> tuple[DocumentNode, OperationDefinitionNode] | None:
    """The parsed document and the operation a request runs, or None when GraphQL will refuse it
    (a syntax error, no such operation, or several without a name)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if operation_name is None and len(operations) == 1:
        chosen = operations
    return (document, chosen[0]) if len(chosen) == 1 else None


@functools.lru_cache(maxsize=512)
def cacheable_query(
    schema: graphene.Schema, policy: CachePolicy, query: str, operation_name: str | None
) -> bool:
    """Whether the document only reads the policy's types and no field that moves with the clock, so its
    result is the same for every reader until that data changes (introspection and mutations never are).
    Clients send the same few documents: decided once each."""
    parsed = _operation(query, operation_name)
    if parsed is None or parsed[1].operation != OperationType.QUERY:
        return False
    document = parsed[0]
    type_info = TypeInfo(schema.graphql_schema)
    reads = _ReadsCacheableData(type_info, policy)
    visit(document, TypeInfoVisitor(type_info, reads))  # the whole document: fragments too
    return reads.cacheable


def _cache_key(schema: graphene.Schema, policy: CachePolicy, request: HttpRequest) -> list[str] | None:
    """The parts of a cacheable GraphQL request (a JSON POST), or None."""
    if request.method != "POST" or request.content_type != "application/json":
        return None
    try:
        body = json.loads(request.body)
        query, name, variables = body["query"], body.get("operationName"), body.get("variables")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return None
    if not cacheable_query(schema, policy, query, name):
        return None
    return [query, name or "", json.dumps(variables, sort_keys=True)]


# The scope a top-level field needs when the table does not name it: reads are `read`; an act nobody
# classified needs the most powerful scope rather than slipping through.
_DEFAULT_SCOPES = {OperationType.QUERY: scopes.READ, OperationType.MUTATION: scopes.ADMIN}
ScopeTable = tuple[tuple[str, str], ...]  # ("Mutation.startProjectSync", "operate"), hashable for the cache


@functools.lru_cache(maxsize=512)
def required_scopes(table: ScopeTable, query: str, operation_name: str | None) -> frozenset[str]:
    """The token scopes a document needs: each top-level field's (``Query.x`` / ``Mutation.y`` in
    ``table``, else the operation's default). Empty when the document cannot run (GraphQL says why)."""
    parsed = _operation(query, operation_name)
    if parsed is None or parsed[1].operation not in _DEFAULT_SCOPES:
        return frozenset()
    document, chosen = parsed
    operation = chosen.operation
    root, default = operation.value.capitalize(), _DEFAULT_SCOPES[operation]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    scope_of = dict(table)
    needed: set[str] = set()
    pending, seen = [chosen.selection_set], set()
    while pending:  # the top level, through fragments and inline fragments
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):  # __typename, __schema: introspection reads
                    needed.add(scope_of.get(f"{root}.{selection.name.value}", default))
                else:
                    needed.add(scopes.READ)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if fragment := fragments.get(selection.name.value):
                    pending.append(fragment.selection_set)
    return frozenset(needed)


def _missing_scope(request: Request, parser: GraphQLView, table: ScopeTable) -> str | None:
    """The first scope the request's document needs and its token lacks (None for a session)."""
    held = scopes.token_scopes(request.auth)
    if held is None:
        return None
    django_request = request._request
    try:
        data = parser.parse_body(django_request)
        query, _, operation_name, _ = parser.get_graphql_params(django_request, data)
    except HttpError:
        return None  # the view answers a malformed request itself
    if not isinstance(query, str) or not (operation_name is None or isinstance(operation_name, str)):
        return None
    return next(iter(sorted(required_scopes(table, query, operation_name) - held)), None)


def _without_errors(response: HttpResponse) -> bool:
    return "errors" not in json.loads(response.content)


class ApiGraphQLView(GraphQLView):
    @staticmethod
    def format_error(error: Any) -> dict[str, Any]:
        if not isinstance(error, GraphQLError):
            return {"message": str(error), "extensions": {"code": "BAD_REQUEST", "field": None}}
        formatted: dict[str, Any] = dict(error.formatted)
        original = error.original_error
        if original is None:  # syntax and validation errors describe the query, not our data
            formatted.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
            return formatted
        body = describe(original) or internal_error(original)
        formatted["message"] = body["message"]
        formatted["extensions"] = {key: value for key, value in body.items() if key != "message"}
        return formatted


def graphql_view(
    *, schema: graphene.Schema, cache_policy: CachePolicy, field_scopes: Mapping[str, str]
) -> Callable[[HttpRequest], HttpResponse]:
    """GraphQLView behind DRF's authentication, permission and throttle policies (the REST API's own);
    a token must hold each top-level field's scope (``field_scopes``: ``Query.x`` / ``Mutation.y``; ``read``
    for a query and ``admin`` for a mutation it does not name); reads that only touch ``cache_policy``'s
    types are shared through the read cache."""
    scope_table = tuple(sorted(field_scopes.items()))
    parser = ApiGraphQLView(schema=schema)  # reads the request's document as the view will
    rules = [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        alias_limit_validator(settings.GRAPHQL_MAX_ALIASES),
    ]
    with_graphiql = ApiGraphQLView.as_view(schema=schema, graphiql=True, validation_rules=rules)
    without_graphiql = ApiGraphQLView.as_view(schema=schema, graphiql=False, validation_rules=rules)

    @extend_schema(exclude=True)  # GraphQL documents itself (introspection)
    @api_view(["GET", "POST"])
    def view(request: Request) -> HttpResponse:
        if missing := _missing_scope(request, parser, scope_table):
            refused = PermissionDenied(scopes.scope_denied(missing))
            body = {
                "errors": [{"message": refused.message, "extensions": {"code": refused.code, "field": None}}]
            }
            return JsonResponse(body, status=403)
        django_request = request._request
        django_request.user = request.user  # resolvers see the token's user as well as a session's
        graphql = with_graphiql if settings.DEBUG else without_graphiql  # GraphiQL is a DEBUG tool
        key = _cache_key(schema, cache_policy, django_request)
        if key is None:
            response: HttpResponse = graphql(django_request)
            return response
        # After authentication and throttling; the result is the same for every authenticated reader.
        return read_cache.cached_response(
            "graphql", key, lambda: graphql(django_request), storable=_without_errors
        )

    return view


# --- Control mutations: errors as data ------------------------------------------------------------------


class Error(graphene.ObjectType):
    """A control's typed error as data, the same type for every app's mutations."""

    class Meta:
        # The name the schema exposed first (sync's mutations); kept so clients' fragments still match.
        name = "SyncError"

    field = graphene.String(description="The argument at fault (camelCase), if one is.")
    message = graphene.String(required=True)
    code = graphene.String(required=True)
    advice = graphene.String()

    @staticmethod
    def of(exc: ServiceError, argument_names: dict[str, str] | None = None) -> Error:
        """``argument_names`` maps a service's keyword names to the mutation's argument names."""
        field = (argument_names or {}).get(exc.field, exc.field) if exc.field else None
        return Error(code=str(exc.code), message=exc.message, field=field, advice=exc.advice or None)


def control_payload(
    info: graphene.ResolveInfo,
    payload: type[graphene.ObjectType],
    *,
    may_operate: Callable[[Any], bool],
    denied: ServiceError,
    call: Callable[[str], Any],
    render: Callable[[Any], dict[str, Any]],
    argument_names: dict[str, str] | None = None,
) -> Any:
    """Check the permission, run one control as the caller, and answer ``payload`` with ``render(result)``
    or with the typed error (permission refused, or the control's own)."""
    user = info.context.user
    if not may_operate(user):
        return payload(errors=[Error.of(denied)])
    try:
        result = call(user.get_username())
    except ServiceError as exc:
        return payload(errors=[Error.of(exc, argument_names)])
    return payload(errors=[], **render(result))
