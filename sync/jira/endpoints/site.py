"""Who we are on the site, its meta data, its projects and its users."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.jira.dates import parse_jira_datetime
from sync.jira.errors import JiraError, JiraErrorCode
from sync.jira.paging import walk_start_at
from sync.jira.shapes import expect_dict, expect_list, recode, schema_error
from sync.jira.transport import Transport

USER_PAGE_SIZE = 1000
PROJECT_PAGE_SIZE = 100


@dataclass(frozen=True)
class SiteIdentity:
    account_id: str
    display_name: str
    email_address: str
    time_zone: str  # JQL dates are read in this zone
    deployment_type: str  # "Cloud", "Server" or "DataCenter", as serverInfo says
    version: str
    base_url: str
    server_time: datetime | None = None  # Jira's clock: sync windows are measured on it, not ours


class SiteCalls(Transport):
    # --- identity and meta -----------------------------------------------------------------------
    def myself(self) -> dict[str, Any]:
        return expect_dict(self._get(f"/rest/api/{self.api}/myself"), "myself")

    def server_info(self) -> dict[str, Any]:
        return expect_dict(self._get(f"/rest/api/{self.api}/serverInfo"), "serverInfo")

    def status(self) -> dict[str, Any]:
        return expect_dict(self._get("/status"), "status")

    def fields(self) -> list[dict[str, Any]]:
        return expect_list(self._get(f"/rest/api/{self.api}/field"), "field")

    def verify(self) -> SiteIdentity:
        """Prove the credentials and learn what the sync needs: who we are and our time zone. Both reads
        at once: against a slow site each is a round trip every run starts with."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-server-info") as pool:
            info_read = pool.submit(self.server_info)
            me = self.myself()
            info = info_read.result()
        account_id = me.get("accountId") or me.get("key") or me.get("name")
        time_zone = me.get("timeZone")
        if not account_id or not time_zone:
            raise schema_error("myself", "accountId and timeZone")
        return SiteIdentity(
            account_id=str(account_id),
            display_name=str(me.get("displayName") or ""),
            email_address=str(me.get("emailAddress") or ""),
            time_zone=str(time_zone),
            deployment_type=str(info.get("deploymentType") or ""),
            version=str(info.get("version") or ""),
            base_url=str(info.get("baseUrl") or self.credentials.base_url),
            server_time=_server_time(info.get("serverTime")),
        )

    # --- projects --------------------------------------------------------------------------------
    def iter_project_pages(
        self, *, query: str | None = None, keys: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        if self.api == "2":
            # Data Center has no paged project search: one list, filtered here.
            projects = expect_list(self._get("/rest/api/2/project"), "project")
            wanted = set(keys or ())
            needle = (query or "").lower()
            yield [
                p
                for p in projects
                if (not wanted or p.get("key") in wanted)
                and (not needle or needle in f"{p.get('key', '')} {p.get('name', '')}".lower())
            ]
            return
        params: dict[str, Any] = {"query": query, "keys": list(keys) if keys else None}
        yield from walk_start_at(
            self._get,
            "/rest/api/3/project/search",
            params,
            items_key="values",
            page_size=PROJECT_PAGE_SIZE,
        )

    def get_project(self, key_or_id: str) -> dict[str, Any]:
        try:
            data = self._get(f"/rest/api/{self.api}/project/{key_or_id}")
        except JiraError as exc:
            if exc.code is JiraErrorCode.NOT_FOUND:
                raise recode(exc, JiraErrorCode.UNKNOWN_PROJECT) from None
            raise
        return expect_dict(data, "project")

    # --- users -----------------------------------------------------------------------------------
    def iter_user_pages(self) -> Iterator[list[dict[str, Any]]]:
        if self.api == "2":
            path, params = "/rest/api/2/user/search", {"username": "."}  # "." matches everyone
        else:
            path, params = "/rest/api/3/users/search", {}
        yield from walk_start_at(self._get, path, params, items_key=None, page_size=USER_PAGE_SIZE)

    def iter_assignable_user_pages(self, project_key: str) -> Iterator[list[dict[str, Any]]]:
        yield from walk_start_at(
            self._get,
            f"/rest/api/{self.api}/user/assignable/search",
            {"project": project_key},
            items_key=None,
            page_size=USER_PAGE_SIZE,
        )


def _server_time(value: Any) -> datetime | None:
    try:
        return parse_jira_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
