"""``GET /api/audit/``: the audit trail for staff with an ``admin``-scoped token or a session, newest first,
filtered by ``action``, ``actor``, ``token`` (prefix), ``target`` (contains), ``since`` and ``until``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination

from core import scopes, tenancy
from core.audit.models import AuditEntry
from core.errors import InvalidInput, PermissionDenied
from core.interfaces.rest import OperatePermission


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "action", "target", "actor", "token", "address", "via", "detail"]


class IsStaff(OperatePermission):
    scope = scopes.ADMIN
    message = "The audit trail is for staff users"

    @staticmethod
    def check(user: Any) -> bool:
        return bool(user.is_active and user.is_staff)


class NewestFirst(CursorPagination):
    ordering = ("-at", "-id")


class AuditList(generics.ListAPIView[AuditEntry]):
    serializer_class = AuditEntrySerializer
    permission_classes = [IsStaff]
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if tenancy.visible_site_ids() is not None:  # entries name every tenant's projects and sites
            raise PermissionDenied(
                "The audit trail covers every site: a caller limited to sites cannot read it"
            )
        entries = AuditEntry.objects.all()
        query = self.request.query_params
        for name in ("action", "actor", "token", "via"):
            if query.get(name):
                entries = entries.filter(**{name: query[name]})
        if query.get("target"):
            entries = entries.filter(target__icontains=query["target"])
        for name, lookup in (("since", "at__gte"), ("until", "at__lt")):
            if query.get(name):
                moment = parse_datetime(query[name])
                if moment is None:
                    raise InvalidInput(
                        f"'{query[name]}' is not a date-time", field=name, advice="e.g. 2026-12-01T00:00:00Z"
                    )
                entries = entries.filter(**{lookup: moment})
        return entries
