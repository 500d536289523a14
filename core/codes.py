"""Error codes that were renamed: the one alias table, and the migration operation that renames stored rows.

The classifier's canonical names are the spec's (``RATE_LIMIT``, ``NETWORK_GLITCH``); the old names stay
accepted wherever a person or a program typed one (telemetry thresholds, notification routes and
categories), because a deploy must not silently orphan an operator's configuration. It lives in core
because notifications, which may not import sync, accepts them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db import migrations

# Old name -> the spec's name: what the data migrations of this rename applied. Frozen, so a migration
# applied long ago still means what it did; a later rename gets a table and migrations of its own.
SPEC_RENAMES: Mapping[str, str] = MappingProxyType(
    {"RATE_LIMITED": "RATE_LIMIT", "NETWORK": "NETWORK_GLITCH"}
)

# Every old name still accepted, to its canonical name.
CODE_ALIASES: Mapping[str, str] = MappingProxyType({**SPEC_RENAMES})


def code_canonical(code: str) -> str:
    """The canonical name of ``code`` (itself when it is not an old name)."""
    return CODE_ALIASES.get(code, code)


def codes_rename(
    *,
    renames: Mapping[str, str],
    columns: Iterable[tuple[str, str, str]] = (),
    json_keys: Iterable[tuple[str, str, str, str]] = (),
) -> migrations.RunPython:
    """A reversible migration operation renaming stored codes: ``columns`` are ``(app, model, field)``
    holding a code, ``json_keys`` are ``(app, model, field, key)`` for a JSON object's top-level key.

    Unapplied, it renames back. A column under a unique constraint with the code needs a merge of its own
    (``codes_rename_by``, as the migrations of SyncRunDaily and Route do), which a plain UPDATE is not."""
    columns, json_keys = list(columns), list(json_keys)

    def rename(apps: Any, mapping: Mapping[str, str]) -> None:
        for app_label, model_name, field in columns:
            model = apps.get_model(app_label, model_name)
            for old, new in mapping.items():
                model.objects.filter(**{field: old}).update(**{field: new})
        for app_label, model_name, field, key in json_keys:
            model = apps.get_model(app_label, model_name)
            rows = model.objects.filter(**{f"{field}__{key}__in": list(mapping)}).only("pk", field)
            changed = []
            for row in rows.iterator(chunk_size=2000):
                value = getattr(row, field)
                value[key] = mapping[value[key]]
                changed.append(row)
            model.objects.bulk_update(changed, [field], batch_size=2000)

    return codes_rename_by(renames=renames, apply=rename)


def codes_rename_by(
    *, renames: Mapping[str, str], apply: Callable[[Any, Mapping[str, str]], None]
) -> migrations.RunPython:
    """A migration operation calling ``apply(apps, old_to_new)`` with ``renames``, and unapplied with them
    reversed."""
    from django.db import migrations  # only migrations need it: the Jira client imports this module

    def forward(apps: Any, schema_editor: Any) -> None:
        apply(apps, renames)

    def backward(apps: Any, schema_editor: Any) -> None:
        apply(apps, {new: old for old, new in renames.items()})

    return migrations.RunPython(forward, backward)
