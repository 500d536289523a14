"""Secrets at rest: Fernet encryption keyed by JIRAPLUS_SECRET_KEYS (MultiFernet, newest key first).

Columns hold only ciphertext; the plaintext exists in memory while a client uses it. Rotation: put a new key
first in JIRAPLUS_SECRET_KEYS, run ``manage.py rotate_secrets``, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from core.redaction import register_secret


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "JIRAPLUS_SECRET_KEYS must hold url-safe base64 Fernet keys of 32 bytes"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.JIRAPLUS_SECRET_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        plaintext = fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with JIRAPLUS_SECRET_KEYS: the key that encrypted it "
            "is missing (add it back after the new key, then run `manage.py rotate_secrets`)."
        ) from None
    register_secret(plaintext)
    return plaintext


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (a no-op in meaning, a change in bytes)."""
    return fernet().rotate(ciphertext.encode()).decode()


def rotate_all() -> dict[str, int]:
    """Re-encrypt every stored secret of every model with the newest key; returns counts per field.

    Reading decrypts with whichever key matches, writing encrypts with the first, so this is
    ``MultiFernet.rotate`` for each value, in one transaction.
    """
    from django.apps import apps
    from django.db import transaction

    rotated: dict[str, int] = {}
    with transaction.atomic():
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                manager = model._default_manager
                label = f"{model._meta.label}.{field.name}"
                rotated[label] = 0
                rows = manager.exclude(**{field.attname: ""}).exclude(**{f"{field.attname}__isnull": True})
                for pk, plaintext in rows.values_list("pk", field.attname).iterator():
                    manager.filter(pk=pk).update(**{field.attname: plaintext})
                    rotated[label] += 1
    return rotated


class EncryptedTextField(models.TextField):
    """A text column whose database value is Fernet ciphertext; Python sees plaintext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return value if value is None or value == "" else decrypt(value)  # "" stays "" (blank, NOT NULL)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value if value is None or value == "" else encrypt(value)
