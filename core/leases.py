"""Leases held in a row: claim with one conditional UPDATE, renew, release, and find the expired ones.

A task message only names a row. The delivery that wins a conditional UPDATE taking the row's lease (a
fresh token and an expiry) does the work; a duplicate or stale delivery updates zero rows and stops. The
holder renews the lease while it works; every later write it makes is filtered on its token (fencing), so
a holder that lost its lease to a takeover writes nothing. A lease whose expiry passed means its worker
died: a reaper finds those rows and re-publishes their work, and the next claim takes the row over.

Model-agnostic: callers pass the queryset that narrows the row (id, step, status, ...) and, if their
columns are named differently, a ``LeaseColumns``. A model without a token column (``holder_field=None``) only
gets the expiry half: its claim is a status transition of its own, the reaper still finds expired rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class LeaseColumns:
    holder_field: str | None = "lease_token"  # the column holds "" when nobody holds the lease
    expiry_field: str = "lease_expires_at"

    def _token(self) -> str:
        if self.holder_field is None:
            raise TypeError("these lease columns have no holder (token) column")
        return self.holder_field

    def free(self, now: datetime) -> Q:
        """Nobody holds the lease, or its holder's lease ran out (a takeover)."""
        return Q(**{self._token(): ""}) | self.expired(now)

    def expired(self, now: datetime) -> Q:
        return Q(**{f"{self.expiry_field}__lt": now})

    def held(self, token: str) -> dict[str, Any]:
        """The filter that fences a write on the lease still being ``token``'s."""
        return {self._token(): token}

    def taken(self, token: str | None, until: datetime) -> dict[str, Any]:
        changes: dict[str, Any] = {self.expiry_field: until}
        if self.holder_field is not None:
            changes[self.holder_field] = token or ""
        return changes

    def released(self) -> dict[str, Any]:
        changes: dict[str, Any] = {self.expiry_field: None}
        if self.holder_field is not None:
            changes[self.holder_field] = ""
        return changes


LEASE = LeaseColumns()


def new_token() -> str:
    return uuid.uuid4().hex


def claim(
    queryset: QuerySet[M],
    *,
    duration: timedelta,
    now: datetime | None = None,
    columns: LeaseColumns = LEASE,
    **changes: Any,
) -> str | None:
    """Take the lease of the rows ``queryset`` selects if it is free or expired, writing ``changes`` in
    the same UPDATE; the new token, or None when nothing was claimed (a duplicate or stale delivery)."""
    now = now or timezone.now()
    token = new_token()
    won = queryset.filter(columns.free(now)).update(**columns.taken(token, now + duration), **changes)
    return token if won else None


def renew(
    queryset: QuerySet[M],
    token: str,
    *,
    duration: timedelta,
    now: datetime | None = None,
    columns: LeaseColumns = LEASE,
    **changes: Any,
) -> bool:
    """Push the expiry on while ``token`` still holds the lease; False when it was lost (taken over)."""
    now = now or timezone.now()
    until = now + duration
    return bool(queryset.filter(**columns.held(token)).update(**{columns.expiry_field: until}, **changes))


def release(queryset: QuerySet[M], token: str, *, columns: LeaseColumns = LEASE, **changes: Any) -> int:
    """Give the lease back (only if ``token`` still holds it), writing ``changes``; the rows updated."""
    return queryset.filter(**columns.held(token)).update(**columns.released(), **changes)


def expired(
    queryset: QuerySet[M], *, now: datetime | None = None, columns: LeaseColumns = LEASE
) -> QuerySet[M]:
    """The rows whose lease ran out: their holder is gone, for a reaper to settle or re-publish."""
    return queryset.filter(columns.expired(now or timezone.now()))
