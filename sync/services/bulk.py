"""Many-row upserts for the sync's hot path.

On PostgreSQL rows are streamed with COPY into a per-session staging table and merged with one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE``: no model instances, no per-value adaptation in Python,
which made ``bulk_create`` the largest cost of a full sync. Other databases (the embedded SQLite
profile) take the same rows through ``bulk_create``. Callers own the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model


def upsert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows`` (values in ``columns`` order, by attname: ``issue_id``) or update ``update`` on a
    ``conflict`` with an existing row. JSON columns take Python values, as with the ORM."""
    json_at = [i for i, name in enumerate(columns) if isinstance(model._meta.get_field(name), JSONField)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            update_conflicts=True,
            unique_fields=list(conflict),
            update_fields=list(update),
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    # Named after the column set too: a staging table's columns are fixed when it is created.
    digest = hashlib.blake2s(",".join(columns).encode(), digest_size=4).hexdigest()
    stage = connection.ops.quote_name(f"stage_{model._meta.db_table}_{digest}")
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in map(connection.ops.quote_name, update))
    keys = ", ".join(connection.ops.quote_name(c) for c in conflict)
    # Identifiers below come from model metadata, never from input (hence the S608 waivers).
    with connection.cursor() as cursor:
        # Columns only (no constraints, no identity); one per session, emptied at every commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {stage}")
        # The raw psycopg cursor bypasses Django's error translation: wrap it so a lost connection
        # surfaces as django.db's OperationalError like every other query.
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = list(row)
                for i in json_at:
                    values[i] = None if values[i] is None else json.dumps(values[i])
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "  # noqa: S608
            f"ON CONFLICT ({keys}) DO UPDATE SET {assignments}"
        )
