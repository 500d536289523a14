"""Writing the audit trail (``@audited``, ``record``), the request context it reads, and its retention."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from core.audit.models import AuditEntry
from core.context import client_address, current_request
from core.retention import cutoff, purge_in_batches

# Never recorded, whatever the act: a credential's name anywhere in an argument's name keeps it out.
_SECRET_WORDS = ("token", "secret", "password", "credential")
P = ParamSpec("P")
R = TypeVar("R")


def _via(request: HttpRequest) -> str:
    path = request.path
    if path.startswith("/admin/"):
        return AuditEntry.Via.ADMIN
    if path.startswith("/graphql"):
        return AuditEntry.Via.GRAPHQL
    if path.startswith("/api/"):
        return AuditEntry.Via.REST
    return AuditEntry.Via.WEB


def _plain(arguments: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in arguments.items():
        if any(word in name.lower() for word in _SECRET_WORDS) or name == "actor":
            continue
        if isinstance(value, str | int | float | bool) or value is None:
            plain[name] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
            plain[name] = list(value)
    return plain


def _os_user() -> str:
    """Who ran the command, as far as the machine knows (a container may have no name for its user)."""
    try:
        return f"{getpass.getuser()} (os)"
    except (KeyError, OSError):
        return ""


def record(
    action: str, target: str = "", *, actor: str = "", detail: Mapping[str, Any] | None = None
) -> None:
    """One entry for an act that succeeded, with the caller of the request it ran under, if any."""
    request = current_request()
    entry = AuditEntry(action=action, target=target[:255], actor=actor, detail=_plain(detail or {}))
    if request is None:
        entry.via = AuditEntry.Via.COMMAND
        entry.actor = actor or _os_user()
    else:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            entry.actor = user.get_username()
        entry.token = str(getattr(getattr(request, "auth", None), "prefix", "") or "")
        entry.address = client_address(request)
        entry.via = _via(request)
    entry.save()


def audited(
    action: str, target: Callable[[dict[str, Any]], str]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record ``action`` each time the (keyword-only) service returns; ``target`` names what it acted on
    from its arguments. An act that raised changed nothing and is not recorded."""

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def acting(*args: P.args, **kwargs: P.kwargs) -> R:
            result = service(*args, **kwargs)
            record(action, target(kwargs), actor=str(kwargs.get("actor") or ""), detail=kwargs)
            return result

        return acting

    return decorate


def audit_purge(*, dry_run: bool = False, now: datetime | None = None) -> int:
    before = cutoff(settings.AUDIT_RETENTION_DAYS, now)

    def candidates() -> QuerySet[AuditEntry]:
        return AuditEntry.objects.filter(at__lt=before)

    return purge_in_batches(
        candidates, lambda ids: AuditEntry.objects.filter(id__in=ids).delete(), dry_run=dry_run
    )
