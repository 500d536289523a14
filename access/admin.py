"""API tokens in the admin: prefix, name, owner, scopes, expiry and last use; never a stored secret (only
its digest is kept). Issuing one here (or with ``manage.py create_api_token``) shows its secret once, on the
page that answers the form; nothing else ever holds it (not the session, not a message)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from rest_framework.authtoken.models import TokenProxy

from access import tokens
from access.models import ApiToken
from core import scopes
from core.interfaces.admin import ReadOnlyAdmin
from sync.models import JiraSite

# DRF registers its plain-text tokens' admin; they are hashed into ApiToken by the access migration.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


LIFETIMES = [("30d", "30 days"), ("90d", "90 days"), ("365d", "a year"), ("never", "never expires")]


class IssueTokenForm(forms.ModelForm):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))
    scope_names = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(s, s) for s in scopes.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="read: queries and reads; operate: sync and orchestration controls; notify: sending "
        "messages; admin: sites and projects. The token never exceeds its owner's permissions.",
    )
    lifetime = forms.ChoiceField(choices=LIFETIMES, initial="90d")
    sites = forms.ModelMultipleChoiceField(
        queryset=JiraSite.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Limit the token to these Jira sites; none chosen: every site its owner sees.",
    )

    class Meta:
        model = ApiToken
        fields = ["name", "user"]


_ISSUE_FIELDS = ["name", "user", "scope_names", "lifetime", "sites"]  # the add form; the rest is read-only
_LISTED = (
    "prefix",
    "name",
    "user",
    "scopes",
    "site_ids",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "migrated",
)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = _LISTED
    list_filter = ["revoked_at", "migrated"]
    search_fields = ["prefix", "name", "user__username"]
    fields = readonly_fields = (*_LISTED, "created_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("access.add_apitoken")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = IssueTokenForm
            kwargs["fields"] = _ISSUE_FIELDS
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return _ISSUE_FIELDS if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        issued = tokens.token_create(
            name=form.cleaned_data["name"],
            username=form.cleaned_data["user"].get_username(),
            scope_names=form.cleaned_data["scope_names"],
            expires_at=tokens.expiry_parse(form.cleaned_data["lifetime"]),
            site_ids=[site.id for site in form.cleaned_data["sites"]],
        )
        obj.__dict__.update(issued.token.__dict__)  # the row the service wrote, for the admin's log
        obj._issued_secret = issued.secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"API token {obj.prefix} issued",
            "token": obj,
            "secret": obj._issued_secret,  # type: ignore[attr-defined]
        }
        response = TemplateResponse(request, "admin/access/apitoken/issued.html", context)
        add_never_cache_headers(response)  # the one page that shows the secret: never kept by a cache
        return response

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("access.delete_apitoken")

    @admin.action(
        description="Revoke the selected tokens (they stop working at once)", permissions=["revoke"]
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            tokens.token_revoke(prefix=token.prefix)
            messages.success(request, f"Revoked {token.prefix} ({token.name})")
