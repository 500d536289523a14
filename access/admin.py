"""API tokens in the admin: prefix, name, owner, scopes, expiry and last use; never a secret (only its
digest is stored). Tokens are issued with ``manage.py create_api_token``, which shows the secret once."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.models import TokenProxy

from access import tokens
from access.models import ApiToken
from core.interfaces.admin import ReadOnlyAdmin

# DRF registers its plain-text tokens' admin; they are hashed into ApiToken by the access migration.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


_LISTED = ("prefix", "name", "user", "scopes", "expires_at", "last_used_at", "revoked_at", "migrated")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = _LISTED
    list_filter = ["revoked_at", "migrated"]
    search_fields = ["prefix", "name", "user__username"]
    fields = readonly_fields = (*_LISTED, "created_at")
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("access.delete_apitoken")

    @admin.action(
        description="Revoke the selected tokens (they stop working at once)", permissions=["revoke"]
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            tokens.token_revoke(prefix=token.prefix)
            messages.success(request, f"Revoked {token.prefix} ({token.name})")
