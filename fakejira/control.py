"""``/_fake/*``: drive a running fake from another process (the demo, fault tests against a subprocess)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fakejira.data import MUTATIONS, NotFoundError
from fakejira.faults import Fault
from fakejira.timefmt import utc_z
from fakejira.wire import Response, error, json_response, problem_not_found

if TYPE_CHECKING:
    from fakejira.server import FakeJira


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "localhost")


def handle(fake: FakeJira, method: str, path: str, query: str, body: bytes) -> Response:
    try:
        payload: Any = json.loads(body) if body else {}
    except ValueError:
        return error(400, "The request body is not valid JSON.")
    args = {name: values[0] for name, values in parse_qs(query).items()}
    route = (method, path.rstrip("/"))
    if route == ("GET", "/_fake/info"):
        return json_response(fake.info())
    if route == ("GET", "/_fake/faults"):
        return json_response({"faults": [f.to_json() for f in fake.faults.active()]})
    if route == ("POST", "/_fake/faults"):
        try:
            for item in payload if isinstance(payload, list) else [payload]:
                fake.add_fault(Fault.from_json(item))
        except (TypeError, ValueError) as problem:
            return error(400, str(problem))
        return json_response({"faults": [f.to_json() for f in fake.faults.active()]})
    if route == ("DELETE", "/_fake/faults"):
        fake.clear_faults()
        return json_response({"faults": []})
    if route == ("POST", "/_fake/mutate"):
        return _mutate(fake, payload)
    if route == ("GET", "/_fake/stats"):
        return json_response(fake.stats())
    if route == ("POST", "/_fake/stats/reset"):
        fake.reset_counters()
        return json_response(fake.stats())
    if route == ("GET", "/_fake/latency"):
        return json_response(fake.latency.to_json())
    if route == ("POST", "/_fake/latency"):
        return _latency(fake, payload)
    if route == ("GET", "/_fake/export"):
        return _export(fake, args)
    if route == ("POST", "/_fake/webhooks"):
        try:
            registration = fake.webhooks.register(
                str(payload.get("url", "")), str(payload.get("secret", "")), payload.get("events")
            )
        except (AttributeError, TypeError, ValueError) as problem:
            return error(400, str(problem))
        return json_response(registration.to_json(), 201)
    if route == ("GET", "/_fake/webhooks"):
        return json_response(
            {
                "webhooks": [r.to_json() for r in fake.webhooks.registrations()],
                "deliveries": [
                    {"event": d.event, "identifier": d.identifier, "status": d.status, "attempt": d.attempt}
                    for d in fake.webhooks.deliveries()
                ],
            }
        )
    if route == ("DELETE", "/_fake/webhooks"):
        fake.webhooks.clear()
        return json_response({"webhooks": []})
    if route == ("GET", "/_fake/clock"):
        return json_response({"now": utc_z(fake.data.now())})
    if route == ("POST", "/_fake/clock"):
        try:
            return json_response({"now": fake.data.advance(float(payload.get("advance", 0)))})
        except (AttributeError, TypeError, ValueError):
            return error(400, 'Expected {"advance": seconds}.')
    return problem_not_found(path)


def _latency(fake: FakeJira, payload: Any) -> Response:
    if not isinstance(payload, dict) or set(payload) - {"latency_ms", "search_latency_ms"}:
        return error(400, 'Expected {"latency_ms": ms, "search_latency_ms": ms} (either may be left out).')
    try:
        fake.latency.set(
            other_ms=None if payload.get("latency_ms") is None else float(payload["latency_ms"]),
            search_ms=None
            if payload.get("search_latency_ms") is None
            else float(payload["search_latency_ms"]),
        )
    except (TypeError, ValueError) as problem:
        return error(400, str(problem))
    return json_response(fake.latency.to_json())


def _mutate(fake: FakeJira, payload: Any) -> Response:
    if not isinstance(payload, dict) or payload.get("op") not in MUTATIONS:
        return error(400, f"'op' must be one of {sorted(MUTATIONS)}")
    args = payload.get("args") or {}
    if not isinstance(args, dict):
        return error(400, "'args' must be an object")
    try:
        result = getattr(fake.data, payload["op"])(**args)
    except NotFoundError as problem:
        return error(404, str(problem))
    except (TypeError, ValueError, KeyError) as problem:
        return error(400, str(problem))
    return json_response({"result": result})


def _export(fake: FakeJira, args: dict[str, str]) -> Response:
    entity = args.get("entity", "issues")
    try:
        if entity == "users":
            return json_response(fake.data.export_users())
        if entity == "sprints":
            return json_response(fake.data.export_sprints(args.get("project", "")))
        if entity == "issues":
            return json_response(fake.data.export(args.get("project", "")))
        if entity == "history":
            return json_response(fake.data.export_history(args.get("project", "")))
    except NotFoundError as problem:
        return error(404, str(problem))
    return error(400, "'entity' must be issues, history, users or sprints")
