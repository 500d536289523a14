"""One declarative field map per model, read by every face that lists the model's fields.

GraphQL (graphene-django types), REST (DRF serializers), the admin and the store derive their field lists
from a ``FieldMap`` so that the two APIs cannot drift apart: a field both APIs render has one name and one
null rule. A field is spelled once, snake_case: REST renders that spelling and GraphQL its camelCase
(graphene's automatic conversion), see ``Field.graphql_name``.

A field only one API renders (``rest=False`` / ``graphql=False``) is a deliberate, public difference
between the two contracts (a legacy name, a REST-only flat id beside GraphQL's object); a test pins every
map against its serializer and its graphene type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from graphene.utils.str_converters import to_camel_case


@dataclass(frozen=True)
class Field:
    """One public field: ``name`` (snake_case) read from the model attribute ``attr``."""

    name: str
    # The model attribute or dotted path (``project.key``) it reads: "" for the attribute of the same name,
    # None when a resolver or serializer method computes it.
    attr: str | None = ""
    null: bool = False
    description: str = ""
    rest: bool = True
    graphql: bool = True

    @property
    def source(self) -> str | None:
        """The model attribute read (the name itself unless ``attr`` says otherwise)."""
        return self.name if self.attr == "" else self.attr

    @property
    def graphql_name(self) -> str:
        return to_camel_case(self.name)


@dataclass(frozen=True)
class FieldMap:
    model: type[models.Model]
    fields: tuple[Field, ...] = field(default=())

    def __post_init__(self) -> None:
        for api in ("rest", "graphql"):
            names = [f.name for f in self.fields if getattr(f, api)]
            if len(names) != len(set(names)):
                raise ValueError(f"{self.model.__name__}: a {api} field is mapped twice: {names}")

    def extend(self, *fields: Field) -> FieldMap:
        """The map with more fields (a detail view over a list view's fields)."""
        return FieldMap(self.model, (*self.fields, *fields))

    def only(self, *names: str) -> FieldMap:
        """The map's fields of these names, in this order (a narrower view of the same model)."""
        by_name = {f.name: f for f in self.fields}
        return FieldMap(self.model, tuple(by_name[name] for name in names))

    def rest(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.rest)

    def graphql(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.graphql)

    def __getitem__(self, name: str) -> Field:
        """The field of this name (the GraphQL one when the APIs spell a name differently)."""
        found = [f for f in self.fields if f.name == name]
        if not found:
            raise KeyError(f"{self.model.__name__} maps no field {name!r}")
        return next((f for f in found if f.graphql), found[0])

    def source(self, name: str) -> str:
        """What the REST field ``name`` reads (``*``, as DRF spells it, when a method computes it)."""
        return self.rest_field(name).source or "*"

    def rest_field(self, name: str) -> Field:
        for f in self.rest():
            if f.name == name:
                return f
        raise KeyError(f"{self.model.__name__} maps no REST field {name!r}")


def _is_model_field(model: type[models.Model], attr: str | None) -> bool:
    if not attr or "." in attr:
        return False
    try:
        model_field = model._meta.get_field(attr)
    except FieldDoesNotExist:  # a property or a prefetched list
        return False
    return bool(model_field.concrete)  # not a reverse relation (a nested list)


def serializer_fields(fmap: FieldMap) -> tuple[str, ...]:
    """DRF ``Meta.fields``: every REST name, in the map's order (which is the rendering order)."""
    return tuple(f.name for f in fmap.rest())


def graphene_fields(fmap: FieldMap) -> tuple[str, ...]:
    """``DjangoObjectType`` ``Meta.fields``: the GraphQL fields graphene-django converts from the model by
    itself (same name, a model field); the others are declared on the type with ``required=not null``."""
    return tuple(f.name for f in fmap.graphql() if f.attr == "" and _is_model_field(fmap.model, f.name))


def graphql_kwargs(fmap: FieldMap, name: str) -> dict[str, Any]:
    """``required`` and ``description`` of a field declared on a graphene type (``graphene.String(**…)``)."""
    spec = fmap[name]
    return {"required": not spec.null, "description": spec.description or None}


def model_fields(fmap: FieldMap, *, attname: bool = False, rest: bool = False) -> tuple[str, ...]:
    """The model fields behind the map (``rest=True``: behind its REST fields), in its order and once each:
    admin ``readonly_fields`` (names) or a store's column list (``attname=True``: ``assignee_id`` for the
    ``assignee`` foreign key)."""
    seen: list[str] = []
    for f in fmap.rest() if rest else fmap.fields:
        if _is_model_field(fmap.model, f.source):
            model_field = fmap.model._meta.get_field(f.source or "")
            column = getattr(model_field, "attname", model_field.name) if attname else model_field.name
            if column not in seen:
                seen.append(column)
    return tuple(seen)
