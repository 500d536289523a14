"""The faces' shared adapters in core.interfaces, without a server: stand-in users and requests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import graphene

from core.errors import Conflict, InvalidInput, PermissionDenied
from core.interfaces.graphql import Error, control_payload
from core.interfaces.rest import OperatePermission
from core.scopes import scope_denied


class Payload(graphene.ObjectType):
    value = graphene.Int()
    errors = graphene.List(graphene.NonNull(Error), required=True)


def info(user: Any) -> Any:
    return SimpleNamespace(context=SimpleNamespace(user=user))


def user(name: str = "ops") -> Any:
    return SimpleNamespace(get_username=lambda: name)


def test_an_error_names_the_mutation_argument_and_leaves_empty_parts_null():
    error = Error.of(InvalidInput("bad", field="account_ids"), {"account_ids": "accountIds"})
    assert (error.code, error.message, error.field, error.advice) == (
        "INVALID_INPUT",
        "bad",
        "accountIds",
        None,
    )
    plain = Error.of(Conflict("busy", advice="wait"))
    assert (plain.field, plain.advice) == (None, "wait")


def test_control_payload_refuses_before_calling_and_renders_errors_as_data():
    called: list[str] = []

    def call(actor: str) -> int:
        called.append(actor)
        return 7

    common: dict[str, Any] = {
        "denied": PermissionDenied("no"),
        "call": call,
        "render": lambda r: {"value": r},
    }
    refused = control_payload(info(user()), Payload, may_operate=lambda u: False, **common)
    assert not called and [e.code for e in refused.errors] == ["PERMISSION_DENIED"] and refused.value is None

    done = control_payload(info(user("alice")), Payload, may_operate=lambda u: True, **common)
    assert called == ["alice"] and done.value == 7 and done.errors == []

    def failing(actor: str) -> int:
        raise Conflict("already decided")

    failed = control_payload(
        info(user()), Payload, may_operate=lambda u: True, denied=PermissionDenied("no"), call=failing,
        render=lambda r: {"value": r},
    )  # fmt: skip
    assert [e.code for e in failed.errors] == ["CONFLICT"] and failed.value is None


class OnlyAlice(OperatePermission):
    reads_open = True

    @staticmethod
    def check(user: Any) -> bool:
        return bool(user == "alice")


def test_operate_permission_opens_reads_only_when_asked():
    get: Any = SimpleNamespace(method="GET", user="bob", auth=None)
    post: Any = SimpleNamespace(method="POST", user="bob", auth=None)
    alice: Any = SimpleNamespace(method="POST", user="alice", auth=None)
    assert OnlyAlice().has_permission(get, None) and not OnlyAlice().has_permission(post, None)
    assert OnlyAlice().has_permission(alice, None)
    assert not OperatePermission().has_permission(get, None)


def test_a_token_needs_the_scope_of_the_act_as_well_as_its_owner_the_permission():
    reader, operator = SimpleNamespace(scopes=["read"]), SimpleNamespace(scopes=["operate"])
    alice_reads: Any = SimpleNamespace(method="GET", user="alice", auth=reader)
    alice_acts: Any = SimpleNamespace(method="POST", user="alice", auth=reader)
    bob_acts: Any = SimpleNamespace(method="POST", user="bob", auth=operator)
    assert OnlyAlice().has_permission(alice_reads, None)
    refused = OnlyAlice()
    assert not refused.has_permission(alice_acts, None) and refused.message == scope_denied("operate")
    assert not OnlyAlice().has_permission(bob_acts, None)  # the scope alone is not enough
    alice_reads_without_read: Any = SimpleNamespace(method="GET", user="alice", auth=operator)
    assert not OnlyAlice().has_permission(alice_reads_without_read, None)
