"""The admin's sign-in is throttled: repeated failures from one address, or for one username, lock it for
a while, even with the right password."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOCKED = "Too many failed sign-ins"


@pytest.fixture(autouse=True)
def no_failure_counts() -> None:
    cache.clear()


@pytest.fixture
def staff() -> User:
    User.objects.create_user("bob", password="pw-bob-right-1", is_staff=True)
    return User.objects.create_user("ada", password="pw-ada-right-1", is_staff=True)


def sign_in(username: str, password: str, ip: str) -> tuple[bool, str]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return "_auth_user_id" in client.session, response.content.decode() if response.status_code == 200 else ""


@override_settings(LOGIN_FAILURES_ALLOWED=3, LOGIN_LOCKOUT_SECONDS=600)
def test_failures_from_one_address_lock_it_even_with_the_right_password(staff):
    for attempt in range(3):
        ok, page = sign_in("ada", f"guess-{attempt}", "10.1.0.1")
        assert not ok and LOCKED not in page
    ok, page = sign_in("ada", "pw-ada-right-1", "10.1.0.1")
    assert not ok and f"{LOCKED}. Try again in 10 minutes" in page
    ok, page = sign_in("bob", "pw-bob-right-1", "10.1.0.1")  # any username from that address
    assert not ok and LOCKED in page

    assert sign_in("bob", "pw-bob-right-1", "10.1.0.2")[0]  # another address, another user: untouched


@override_settings(LOGIN_FAILURES_ALLOWED=3, LOGIN_LOCKOUT_SECONDS=600)
def test_failures_spread_over_addresses_lock_the_username(staff):
    for attempt in range(3):
        assert not sign_in("ada", f"guess-{attempt}", f"10.2.0.{attempt}")[0]
    ok, page = sign_in("ada", "pw-ada-right-1", "10.2.0.99")
    assert not ok and LOCKED in page
    assert sign_in("bob", "pw-bob-right-1", "10.2.0.99")[0]


@override_settings(LOGIN_FAILURES_ALLOWED=3, LOGIN_LOCKOUT_SECONDS=600)
def test_a_success_forgets_the_usernames_failures(staff):
    for attempt in range(2):
        assert not sign_in("ada", f"guess-{attempt}", f"10.3.0.{attempt}")[0]
    assert sign_in("ada", "pw-ada-right-1", "10.3.0.50")[0]
    for attempt in range(2):
        assert not sign_in("ada", f"again-{attempt}", f"10.3.1.{attempt}")[0]
    assert sign_in("ada", "pw-ada-right-1", "10.3.0.51")[0]  # 2 + 2 failures, never 3 in a row
