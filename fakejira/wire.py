"""Request and response values passed between the HTTP plumbing and the endpoint handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json;charset=UTF-8"
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    authenticated: bool
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route's pattern

    @property
    def api(self) -> str:
        return self.params.get("api", "3")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated or comma-separated parameter."""
        return [
            part.strip() for value in self.query.get(name, []) for part in value.split(",") if part.strip()
        ]

    def int_arg(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            value = default
        else:
            try:
                value = int(raw)
            except ValueError:
                raise ApiError(error(400, f"The '{name}' parameter must be a number.")) from None
        value = max(minimum, value)
        return min(value, maximum) if maximum is not None else value

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(error(400, "Unexpected character in the request body: not valid JSON.")) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Carries the response a handler answers with when it cannot go on."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode())


def raw_json(text: str, status: int = 200) -> Response:
    return Response(status, text.encode())


def error(status: int, *messages: str, errors: dict[str, str] | None = None) -> Response:
    return json_response({"errorMessages": list(messages), "errors": errors or {}}, status)


def text(status: int, message: str) -> Response:
    return Response(status, message.encode(), "text/plain;charset=UTF-8")


def html(status: int, title: str) -> Response:
    page = (
        f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    )
    return Response(status, page.encode(), "text/html;charset=UTF-8")


def problem_not_found(path: str) -> Response:
    """Jira's RFC 7807 answer for a path no resource serves."""
    body = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": f"No resource at {path}"}
    return Response(404, json.dumps(body).encode(), "application/problem+json")


def unauthenticated() -> Response:
    return text(401, NOT_AUTHENTICATED)
