"""The answers injected faults give, shaped like the edge, the site or the auth layer would shape them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fakejira.faults import Fault
from fakejira.wire import JSON, Response, error, html


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def fault_response(fault: Fault) -> Response:
    """The response of a fault that answers by itself (not slow, drop, truncate or expired_token)."""
    kind = fault.kind
    if kind == "rate_limit":
        wait = fault.retry_after if fault.retry_after is not None else 60.0
        reset = (datetime.now(UTC) + timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = error(429, "Rate limit exceeded.")
        response.headers.update(
            {
                "X-RateLimit-Limit": "350",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset,
                "RateLimit-Reason": "jira-burst-based",
            }
        )
        if fault.retry_after is not None:
            response.headers["Retry-After"] = _seconds(fault.retry_after)
    elif kind == "server_error":
        body = {
            "message": "java.lang.IllegalStateException: injected failure",
            "status-code": 500,
            "stack-trace": "java.lang.IllegalStateException: injected failure\n\tat com.atlassian.jira",
        }
        response = Response(500, json.dumps(body).encode())
    elif kind == "service_unavailable":
        response = error(503, "Service Unavailable")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = _seconds(fault.retry_after)
    elif kind == "bad_gateway":
        response = html(502, "Bad Gateway")
    elif kind == "gateway_timeout":
        response = html(504, "Gateway Timeout")
    elif kind in ("suspended_payment", "suspended_inactivity"):
        reason = kind.replace("_", "-")
        response = error(403, f"Tenant is restricted: {reason}")
    elif kind == "deactivated":
        response = html(503, "This site is deactivated")
    else:  # custom
        response = Response(fault.status or 500, b"", "text/plain;charset=UTF-8")
    return customise(response, fault)


def customise(response: Response, fault: Fault) -> Response:
    """Apply a fault's explicit status, body and headers on top of the response it would give."""
    if fault.status is not None:
        response.status = fault.status
    if fault.body is not None:
        response.body = fault.body.encode()
        try:
            json.loads(fault.body)
            response.content_type = JSON
        except ValueError:
            response.content_type = "text/plain;charset=UTF-8"
    for name, value in (fault.headers or {}).items():
        if name.lower() == "content-type":
            response.content_type = value
        else:
            response.headers[name] = str(value)
    return response
