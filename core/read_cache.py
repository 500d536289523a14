"""Read-API responses shared through the cache until the synced Jira data next changes.

A page of 100 issues with comments and worklogs costs tens of milliseconds of Python to serialise and the
same pages are asked for again and again (boards and dashboards poll), while the data changes only when a
sync batch, a webhook refresh or an operator commits. So a rendered response is stored under a key that
holds the current *data version*, and every committed write to a watched table replaces that version with
a fresh random one, after the commit (``transaction.on_commit``); entries of older versions are never read
again and expire after ``READ_CACHE_SECONDS``.

Correctness does not depend on remembering to invalidate: a database execute wrapper, installed on every
connection, sees each INSERT/UPDATE/DELETE/TRUNCATE that names a watched table (the ORM, bulk upserts,
the admin, a shell) and schedules the bump. A reader takes the version *before* it queries, so what it
stores is at least as new as its key; a random token (not a counter) means two concurrent bumps can never
collapse into one. If the cache cannot be reached, requests are served uncached; if a bump is lost that
way, stale entries live at most ``READ_CACHE_SECONDS``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy

logger = logging.getLogger(__name__)

VERSION_KEY = "jiraplus:read-cache:version"
HEADER = "X-Read-Cache"  # HIT or MISS on responses the cache may serve

_WRITE = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|TRUNCATE)\b", re.IGNORECASE)


class _Watched:
    tables: ClassVar[set[str]] = set()
    named_in: ClassVar[re.Pattern[str] | None] = None  # finds a watched table's name in a statement


def watch(watched_models: Iterable[type[models.Model]]) -> None:
    """Treat committed writes to these models' tables as changes of the cached data (app ``ready()``)."""
    _Watched.tables.update(model._meta.db_table for model in watched_models)
    names = "|".join(sorted(map(re.escape, _Watched.tables)))
    _Watched.named_in = re.compile(rf'(?<![\w"])"?(?:{names})"?(?![\w"])')


def enabled() -> bool:
    return settings.READ_CACHE_SECONDS > 0


def bump() -> None:
    """Start a new data version: every cached response becomes unreachable."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the write has committed; a cache outage must not fail it
        logger.warning("read cache: could not start a new data version", exc_info=True)


def _observe(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    result = execute(sql, params, many, context)
    named_in = _Watched.named_in
    if named_in is not None and _WRITE.match(sql) and named_in.search(sql):
        # Outside a transaction the statement has committed and this runs at once.
        transaction.on_commit(bump, using=context["connection"].alias)
    return result


def install(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: observe the connection's writes (once per wrapper)."""
    if _observe not in connection.execute_wrappers:
        connection.execute_wrappers.append(_observe)


def current_version() -> str | None:
    """The data version, started if the cache has none (first use, eviction, restart); None when the
    cache cannot be reached."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)  # a concurrent add or bump may have won
    except Exception:
        logger.warning("read cache: unreachable, serving uncached", exc_info=True)
        return None
    return str(version) if version is not None else None


def cached_response(
    namespace: str,
    key_parts: Sequence[str | bytes],
    render: Callable[[], HttpResponse],
    *,
    storable: Callable[[HttpResponse], bool] = lambda response: True,
) -> HttpResponse:
    """The response ``render`` would give, from the cache when this data version already rendered it.

    Only the caller knows the request is cacheable (a read of watched data only, identical for every
    authorised caller); ``key_parts`` must hold everything the response depends on. Responses are stored
    when they are 200 JSON and ``storable`` agrees."""
    version = current_version() if enabled() else None
    if version is None:
        return render()
    digest = hashlib.blake2b(digest_size=20)
    # The caller's sites are part of every key: one tenant's page is never served to another.
    for part in (tenancy.cache_part(), *key_parts):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    key = f"jiraplus:read:{namespace}:{version}:{digest.hexdigest()}"
    try:
        hit = cache.get(key)
    except Exception:
        hit = None
    if hit is not None:
        content_type, body = hit
        response = HttpResponse(body, content_type=content_type)
        response[HEADER] = "HIT"
        return response
    response = render()
    content_type = response.get("Content-Type", "")
    if response.status_code == 200 and content_type.startswith("application/json") and storable(response):
        try:
            cache.set(key, (content_type, response.content), timeout=settings.READ_CACHE_SECONDS)
        except Exception:
            logger.warning("read cache: could not store a response", exc_info=True)
        response[HEADER] = "MISS"
    return response


def cached_read(method: Callable[..., Response]) -> Callable[..., HttpResponse]:
    """Serve a DRF read action through the cache: for actions whose response reads only watched data
    and is the same for every caller allowed to see it. Runs after authentication, permissions,
    throttling and content negotiation; keyed by the absolute URL (pagination links carry the host) and
    the negotiated media type (only JSON is stored: the browsable page names its user)."""

    @functools.wraps(method)
    def action(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        def render() -> HttpResponse:
            response = method(view, request, *args, **kwargs)
            response = view.finalize_response(request, response, *args, **kwargs)
            response.render()  # the bytes are what is kept
            return response

        parts = [request.build_absolute_uri(), request.accepted_media_type or ""]
        return cached_response("rest", parts, render)

    return action
