"""The /graphql endpoint: DRF authentication (token header or session with CSRF), throttling, query depth and
alias limits, and errors that carry a code and field but never an unexpected exception's text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from graphene.validation import depth_limit_validator
from graphene_django.views import GraphQLView
from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule
from rest_framework.decorators import api_view
from rest_framework.request import Request

from jiraplus.api_errors import describe, internal_error


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


def graphql_view() -> Callable[[HttpRequest], HttpResponse]:
    """GraphQLView behind DRF's authentication, permission and throttle policies (the REST API's own)."""
    rules = [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        alias_limit_validator(settings.GRAPHQL_MAX_ALIASES),
    ]
    with_graphiql = ApiGraphQLView.as_view(graphiql=True, validation_rules=rules)
    without_graphiql = ApiGraphQLView.as_view(graphiql=False, validation_rules=rules)

    @extend_schema(exclude=True)  # GraphQL documents itself (introspection)
    @api_view(["GET", "POST"])
    def view(request: Request) -> HttpResponse:
        django_request = request._request
        django_request.user = request.user  # resolvers see the token's user as well as a session's
        graphql = with_graphiql if settings.DEBUG else without_graphiql  # GraphiQL is a DEBUG tool
        response: HttpResponse = graphql(django_request)
        return response

    return view
