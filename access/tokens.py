"""Issuing, finding and retiring API tokens. A token reads ``jpp_<8 characters>_<43 characters>``: the first
part (the prefix) is public and finds the row; the whole secret is shown once, when it is issued."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from access.models import ApiToken
from core import scopes
from core.audit.trail import audited
from core.errors import InvalidInput, NotAuthenticated, NotFound

PREFIX_START = "jpp_"
_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 8
_SECRET_BYTES = 32  # 256 bits
_TOKEN = re.compile(r"^(jpp_[a-z0-9]{8})_[A-Za-z0-9_-]{43}$")
# The plain 40-hex keys of the tokens this replaced, hashed by the access migration: found by their start.
_MIGRATED = re.compile(r"^[0-9a-f]{40}$")
MIGRATED_PREFIX_START = "drf_"
LAST_USED_EVERY = timedelta(minutes=1)
_DURATION = re.compile(r"^(\d+)([dhw])$")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def migrated_prefix(key: str) -> str:
    return MIGRATED_PREFIX_START + key[:12]


def expiry_parse(text: str, *, now: datetime | None = None) -> datetime | None:
    """``90d``, ``12h``, ``2w`` from now, or ``never`` (None)."""
    if text.strip().lower() == "never":
        return None
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(
            f"'{text}' is not a token lifetime", field="expires", advice="e.g. 90d, 12h, 2w or never"
        )
    unit = {"d": timedelta(days=1), "h": timedelta(hours=1), "w": timedelta(weeks=1)}[match.group(2)]
    return (now or timezone.now()) + int(match.group(1)) * unit


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once; only its digest is stored


@audited("token.create", lambda a: f"token {a['name']} of {a['username']}")
def token_create(
    *,
    name: str,
    username: str,
    scope_names: Sequence[str],
    expires_at: datetime | None,
    site_ids: Sequence[int] = (),
) -> Issued:
    """``site_ids`` limits what the token sees to those Jira sites (empty: every site its owner sees)."""
    return _issue(
        name=name, username=username, scope_names=scope_names, expires_at=expires_at, site_ids=site_ids
    )


def _issue(
    *,
    name: str,
    username: str,
    scope_names: Sequence[str],
    expires_at: datetime | None,
    site_ids: Sequence[int],
) -> Issued:
    """A new token for ``username``; the secret is returned once and never stored."""
    scope_names = [s.strip().lower() for s in scope_names]
    if not name.strip():
        raise InvalidInput("A token needs a name (what uses it)", field="name")
    unknown = sorted({s for s in scope_names if s not in scopes.SCOPES})
    if unknown or not scope_names:
        raise InvalidInput(
            f"Unknown scope(s): {', '.join(unknown)}" if unknown else "A token needs at least one scope",
            field="scope",
            advice=f"Choose from {', '.join(scopes.SCOPES)}",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry is in the past", field="expires")
    user = _user(username)
    for _ in range(5):  # a prefix collision (1 in 36^8 per pair) only costs another draw
        prefix = PREFIX_START + "".join(secrets.choice(_ALPHABET) for _ in range(_PREFIX_LENGTH))
        secret = f"{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    name=name.strip(),
                    user=user,
                    prefix=prefix,
                    digest=digest(secret),
                    scopes=[s for s in scopes.SCOPES if s in scope_names],
                    site_ids=sorted(set(site_ids)),
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
        return Issued(token, secret)
    raise RuntimeError("no free token prefix after 5 draws")


def _user(username: str) -> User:
    try:
        user: User = get_user_model().objects.get(username=username)
        return user
    except get_user_model().DoesNotExist:
        raise NotFound(
            f"No user '{username}'",
            field="user",
            advice="Create one first: python manage.py createsuperuser (or in the admin)",
        ) from None


def token_prefix(secret: str) -> str | None:
    """The public part of a presented secret, or None when it has neither token shape."""
    if match := _TOKEN.match(secret):
        return match.group(1)
    if _MIGRATED.match(secret):
        return migrated_prefix(secret)
    return None


INVALID = "Invalid API token"


def token_authenticate(secret: str, *, now: datetime | None = None) -> ApiToken:
    """The live token ``secret`` is, with its user; NotAuthenticated otherwise. A wrong, unknown or revoked
    secret gets one message (it reveals nothing); an expired one says so, since only its holder has it."""
    prefix = token_prefix(secret)
    token = None if prefix is None else ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compared in constant time, and compared even when no row matched, so timing tells nothing either.
    matches = hmac.compare_digest(digest(secret), token.digest if token else "0" * 64)
    if token is None or not matches or token.revoked_at is not None or not token.user.is_active:
        raise NotAuthenticated(INVALID)
    now = now or timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated(
            f"API token {token.prefix} expired at {token.expires_at.isoformat()}",
            advice="Rotate it: python manage.py api_token rotate PREFIX",
        )
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
        # One conditional write a minute at most, whatever the request rate.
        ApiToken.objects.filter(id=token.id).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
    return token


def _live(prefix: str) -> ApiToken:
    try:
        return ApiToken.objects.get(prefix=prefix, revoked_at__isnull=True)
    except ApiToken.DoesNotExist:
        raise NotFound(f"No live API token {prefix}", field="prefix") from None


@audited("token.revoke", lambda a: f"token {a['prefix']}")
def token_revoke(*, prefix: str) -> ApiToken:
    """The token stops working at once."""
    return _revoke(_live(prefix))


def _revoke(token: ApiToken) -> ApiToken:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
@audited("token.rotate", lambda a: f"token {a['prefix']}")
def token_rotate(*, prefix: str, expires_at: datetime | None = None) -> Issued:
    """A new secret with the same name, owner, scopes and sites (and, unless given, a lifetime as long as the
    old one's); the old token is revoked."""
    old = _live(prefix)
    if expires_at is None and old.expires_at is not None:
        expires_at = timezone.now() + (old.expires_at - old.created_at)
    _revoke(old)
    return _issue(
        name=old.name,
        username=old.user.get_username(),
        scope_names=old.scopes,
        expires_at=expires_at,
        site_ids=old.site_ids,
    )
