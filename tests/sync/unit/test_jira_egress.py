"""Which Jira site URLs the client may reach (SSRF guard); IP literals need no DNS."""

from __future__ import annotations

import pytest

from sync.jira.egress import check_site_url
from sync.jira.errors import JiraError, JiraErrorCode


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1",
        "https://localhost:8443",
        "https://10.1.2.3",
        "https://192.168.0.10/jira",
        "https://172.16.5.4",
        "https://169.254.169.254",  # cloud metadata
        "https://[::1]",
        "https://[fd00::1]",
        "https://[::ffff:10.0.0.1]",  # IPv4-mapped private address
        "https://0.0.0.0",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(JiraError) as caught:
        check_site_url(url, allow_private=False)
    assert caught.value.code is JiraErrorCode.URL_NOT_ALLOWED
    assert "not a public address" in str(caught.value)
    assert "JIRAPLUS_ALLOW_PRIVATE_JIRA" in caught.value.advice


def test_plain_http_is_refused_even_on_a_public_address():
    with pytest.raises(JiraError) as caught:
        check_site_url("http://8.8.8.8", allow_private=False)
    assert caught.value.code is JiraErrorCode.URL_NOT_ALLOWED
    assert "not an https URL" in str(caught.value)


def test_https_on_a_public_address_is_allowed():
    check_site_url("https://8.8.8.8", allow_private=False)
    check_site_url("https://[2606:4700:4700::1111]", allow_private=False)


def test_the_private_switch_admits_http_and_loopback():
    check_site_url("http://127.0.0.1:8080", allow_private=True)


def test_an_unresolvable_host_is_a_network_error():
    with pytest.raises(JiraError) as caught:
        check_site_url("https://no-such-host.invalid", allow_private=False)
    assert caught.value.code is JiraErrorCode.NETWORK_GLITCH
