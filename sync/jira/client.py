"""The only code that speaks HTTP to Jira: auth, timeouts, retries, the shared budget, pagination.

Retries are our own loop rather than urllib3's ``Retry`` so that every attempt passes the shared
per-site budget and is counted (SyncRun.http_requests); urllib3 would hide its retries from both.
Every response goes through ``classify_response``, so an empty 200 that is really an auth failure
never reads as "nothing changed". Iterators yield one page at a time and stop on what Jira says
(``isLast``, ``total``, a missing ``nextPageToken``), never on a page size we assumed.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.redaction import register_secret
from sync.jira.adf import text_to_adf
from sync.jira.budget import RequestBudget, budget_from_settings
from sync.jira.dates import parse_jira_datetime
from sync.jira.egress import check_site_url
from sync.jira.errors import (
    JiraError,
    JiraErrorCode,
    classify_exception,
    classify_response,
    endpoint_template,
    looks_deactivated,
    make_error,
    site_deactivated_error,
)

logger = logging.getLogger("sync.jira.client")

JSON = Any
COMMENT_PAGE_SIZE = 100
CHANGELOG_PAGE_SIZE = 100
WORKLOG_PAGE_SIZE = 5000
ID_PAGE_SIZE = 5000
USER_PAGE_SIZE = 1000
AGILE_PAGE_SIZE = 50
PROJECT_PAGE_SIZE = 100
WORKLOG_LIST_CHUNK = 1000
_ANONYMOUS_PATHS = {"/status"}  # answered without credentials: success there proves nothing


def _user_agent() -> str:
    try:
        version = metadata.version("jiraplus")
    except metadata.PackageNotFoundError:
        version = "0.1.0"
    return f"jiraplus/{version}"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class JiraCredentials:
    base_url: str
    auth_kind: Literal["basic", "bearer"]
    token: str = field(repr=False)
    email: str = ""
    deployment: Literal["cloud", "datacenter"] = "cloud"
    site_key: str = ""  # budget key; defaults to the base URL's host[:port]

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.site_key:
            parts = urlsplit(self.base_url)
            host = (parts.hostname or "").lower()
            object.__setattr__(self, "site_key", f"{host}:{parts.port}" if parts.port else host)
        if self.auth_kind == "basic" and not self.email:
            raise ValueError("Basic auth (Jira Cloud) needs the account email with the API token")


@dataclass
class RequestCounter:
    """Every HTTP attempt, retries included, keyed ``"GET /rest/api/3/issue/{id} 200"``."""

    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    elapsed_ms: int = 0  # time spent waiting for Jira's answers, all attempts

    def record(self, endpoint: str, outcome: int | str, elapsed_ms: int = 0) -> None:
        self.total += 1
        self.by_endpoint[f"{endpoint} {outcome}"] += 1
        self.elapsed_ms += elapsed_ms

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_endpoint": dict(sorted(self.by_endpoint.items()))}


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


@dataclass(frozen=True)
class SearchPage:
    issues: list[dict[str, Any]]
    next_page_token: str | None
    is_last: bool


@dataclass(frozen=True)
class WorklogFeedPage:
    values: list[dict[str, Any]]
    since: int
    until: int
    last_page: bool


def embedded_overflow(issue_fields: dict[str, Any], kind: Literal["comment", "worklog"]) -> bool:
    """True when a search result embeds fewer comments/worklogs than the issue has (``total``)."""
    container = issue_fields.get(kind)
    if not isinstance(container, dict):
        return False
    items = container.get("comments" if kind == "comment" else "worklogs")
    total = container.get("total")
    count = len(items) if isinstance(items, list) else 0
    return isinstance(total, int) and total > count


class ResponseTooLarge(Exception):
    pass


class JiraClient:
    def __init__(
        self,
        credentials: JiraCredentials,
        *,
        budget: RequestBudget | None = None,
        counter: RequestCounter | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        retry_after_max: float | None = None,
        credentials_verified: bool = False,
        max_response_bytes: int | None = None,
    ) -> None:
        register_secret(credentials.token)
        self.credentials = credentials
        self.budget = budget if budget is not None else budget_from_settings()
        self.counter = counter if counter is not None else RequestCounter()
        self.timeout = (
            _or(connect_timeout, settings.JIRA_CONNECT_TIMEOUT),
            _or(read_timeout, settings.JIRA_READ_TIMEOUT),
        )
        self.max_attempts = max(1, int(_or(max_attempts, settings.JIRA_MAX_ATTEMPTS)))
        self.backoff_base = _or(backoff_base, settings.JIRA_BACKOFF_BASE)
        self.backoff_max = _or(backoff_max, settings.JIRA_BACKOFF_MAX)
        self.retry_after_max = _or(retry_after_max, settings.JIRA_RETRY_AFTER_MAX)
        self.max_response_bytes = int(_or(max_response_bytes, settings.JIRA_MAX_RESPONSE_BYTES))
        self._egress_checked = False
        # Once these credentials have worked, a 401 means the token was revoked or expired.
        self.credentials_verified = credentials_verified
        self.api = "2" if credentials.deployment == "datacenter" else "3"
        self._sleep: Callable[[float], None] = time.sleep
        self._session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # No urllib3 retries (our loop counts and budgets each attempt); read=False lets a read
        # timeout surface as itself instead of a ConnectionError wrapping MaxRetryError.
        no_retries = Retry(total=0, read=False, redirect=False, raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=no_retries)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if self.credentials.auth_kind == "basic":
            session.auth = (self.credentials.email, self.credentials.token)
        else:
            session.headers["Authorization"] = f"Bearer {self.credentials.token}"
        return session

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def site_key(self) -> str:
        return self.credentials.site_key

    # --- identity and meta -----------------------------------------------------------------------
    def myself(self) -> dict[str, Any]:
        return _expect_dict(self._get(f"/rest/api/{self.api}/myself"), "myself")

    def server_info(self) -> dict[str, Any]:
        return _expect_dict(self._get(f"/rest/api/{self.api}/serverInfo"), "serverInfo")

    def status(self) -> dict[str, Any]:
        return _expect_dict(self._get("/status"), "status")

    def fields(self) -> list[dict[str, Any]]:
        return _expect_list(self._get(f"/rest/api/{self.api}/field"), "field")

    def verify(self) -> SiteIdentity:
        """Prove the credentials and learn what the sync needs: who we are and our time zone."""
        me = self.myself()
        info = self.server_info()
        account_id = me.get("accountId") or me.get("key") or me.get("name")
        time_zone = me.get("timeZone")
        if not account_id or not time_zone:
            raise _schema_error("myself", "accountId and timeZone")
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
            projects = _expect_list(self._get("/rest/api/2/project"), "project")
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
        yield from self._walk_start_at(
            "/rest/api/3/project/search", params, items_key="values", page_size=PROJECT_PAGE_SIZE
        )

    def get_project(self, key_or_id: str) -> dict[str, Any]:
        try:
            data = self._get(f"/rest/api/{self.api}/project/{key_or_id}")
        except JiraError as exc:
            if exc.code is JiraErrorCode.NOT_FOUND:
                raise _recode(exc, JiraErrorCode.UNKNOWN_PROJECT) from None
            raise
        return _expect_dict(data, "project")

    # --- search ----------------------------------------------------------------------------------
    def search_page(
        self,
        jql: str,
        *,
        fields: Sequence[str],
        expand: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
        reconcile_issues: Sequence[int] = (),
    ) -> SearchPage:
        """One page; ``reconcile_issues`` (Cloud, <= 50 ids) makes Jira read those issues fresh instead of
        from its eventually consistent index."""
        if self.api == "2":
            return self._search_page_start_at(jql, fields, expand, max_results, page_token)
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": max_results}
        if expand:
            body["expand"] = ",".join(expand)
        if reconcile_issues:
            body["reconcileIssues"] = [int(i) for i in reconcile_issues]
        if page_token:
            body["nextPageToken"] = page_token
        data = _expect_dict(self._post("/rest/api/3/search/jql", body), "search/jql")
        issues = _expect_issues(data, "search/jql")
        token = data.get("nextPageToken") or None
        is_last = bool(data.get("isLast")) or token is None
        return SearchPage(issues, None if is_last else str(token), is_last)

    def _search_page_start_at(
        self,
        jql: str,
        fields: Sequence[str],
        expand: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> SearchPage:
        start = int(page_token or 0)
        body: dict[str, Any] = {
            "jql": jql,
            "fields": list(fields),
            "maxResults": max_results,
            "startAt": start,
        }
        if expand:
            body["expand"] = list(expand)
        data = _expect_dict(self._post("/rest/api/2/search", body), "search")
        issues = _expect_issues(data, "search")
        total = data.get("total")
        if not isinstance(total, int):
            raise _schema_error("search", "total")
        following = start + len(issues)
        is_last = not issues or following >= total
        return SearchPage(issues, None if is_last else str(following), is_last)

    def iter_search_pages(
        self,
        jql: str,
        *,
        fields: Sequence[str],
        expand: Sequence[str] = (),
        max_results: int = 100,
    ) -> Iterator[SearchPage]:
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.search_page(
                jql, fields=fields, expand=expand, max_results=max_results, page_token=token
            )
            yield page
            if page.is_last or page.next_page_token is None:
                return
            if page.next_page_token in seen:  # a loop would sync forever
                raise _schema_error("search", "a fresh nextPageToken")
            seen.add(page.next_page_token)
            token = page.next_page_token

    def iter_issue_ids(self, jql: str) -> Iterator[list[str]]:
        """Ids of every issue the JQL matches; id-only pages are large, so this is cheap."""
        for page in self.iter_search_pages(jql, fields=["id"], max_results=ID_PAGE_SIZE):
            yield [str(issue["id"]) for issue in page.issues if "id" in issue]

    def approximate_count(self, jql: str) -> int:
        if self.api == "2":
            data = _expect_dict(
                self._post("/rest/api/2/search", {"jql": jql, "maxResults": 0, "fields": ["id"]}),
                "search",
            )
            key = "total"
        else:
            path = "/rest/api/3/search/approximate-count"
            data = _expect_dict(self._post(path, {"jql": jql}), "search/approximate-count")
            key = "count"
        if not isinstance(data.get(key), int):
            raise _schema_error("search count", key)
        return int(data[key])

    def get_issue(
        self, id_or_key: str, *, fields: Sequence[str], expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        params = {"fields": ",".join(fields), "expand": ",".join(expand) or None}
        return _expect_dict(self._get(f"/rest/api/{self.api}/issue/{id_or_key}", params), "issue")

    def iter_changelog_pages(self, issue_id: str) -> Iterator[list[dict[str, Any]]]:
        """Every changelog history of an issue, oldest first (for issues whose embedded one was cut)."""
        yield from self._walk_start_at(
            f"/rest/api/{self.api}/issue/{issue_id}/changelog",
            {},
            items_key="values",
            page_size=CHANGELOG_PAGE_SIZE,
        )

    def get_sprint(self, sprint_id: int) -> dict[str, Any]:
        return _expect_dict(self._get(f"/rest/agile/1.0/sprint/{int(sprint_id)}"), "sprint")

    # --- comments and worklogs beyond those embedded in search results ---------------------------
    def iter_comment_pages(self, issue_id: str, *, start_at: int = 0) -> Iterator[list[dict[str, Any]]]:
        yield from self._walk_start_at(
            f"/rest/api/{self.api}/issue/{issue_id}/comment",
            {"orderBy": "created"},
            items_key="comments",
            page_size=COMMENT_PAGE_SIZE,
            start_at=start_at,
        )

    def iter_worklog_pages(
        self, issue_id: str, *, started_after_ms: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        yield from self._walk_start_at(
            f"/rest/api/{self.api}/issue/{issue_id}/worklog",
            {"startedAfter": started_after_ms},
            items_key="worklogs",
            page_size=WORKLOG_PAGE_SIZE,
        )

    # --- worklog change feeds --------------------------------------------------------------------
    def iter_worklog_updated(self, since_ms: int) -> Iterator[WorklogFeedPage]:
        yield from self._walk_feed(f"/rest/api/{self.api}/worklog/updated", since_ms)

    def iter_worklog_deleted(self, since_ms: int) -> Iterator[WorklogFeedPage]:
        yield from self._walk_feed(f"/rest/api/{self.api}/worklog/deleted", since_ms)

    def _walk_feed(self, path: str, since_ms: int) -> Iterator[WorklogFeedPage]:
        since = int(since_ms)
        while True:
            data = _expect_dict(self._get(path, {"since": since}), path)
            values = data.get("values")
            if not isinstance(values, list):
                raise _schema_error(path, "values")
            last_page = bool(data.get("lastPage", True))
            until = int(data.get("until") or since)
            yield WorklogFeedPage(values, since, until, last_page)
            following = _next_since(data.get("nextPage"), until)
            if last_page or following is None or following <= since:
                return
            since = following

    def worklog_list(self, ids: Sequence[int | str]) -> list[dict[str, Any]]:
        worklogs: list[dict[str, Any]] = []
        for start in range(0, len(ids), WORKLOG_LIST_CHUNK):
            chunk = [int(i) for i in ids[start : start + WORKLOG_LIST_CHUNK]]
            data = self._post(f"/rest/api/{self.api}/worklog/list", {"ids": chunk})
            worklogs.extend(_expect_list(data, "worklog/list"))
        return worklogs

    # --- users -----------------------------------------------------------------------------------
    def iter_user_pages(self) -> Iterator[list[dict[str, Any]]]:
        if self.api == "2":
            path, params = "/rest/api/2/user/search", {"username": "."}  # "." matches everyone
        else:
            path, params = "/rest/api/3/users/search", {}
        yield from self._walk_start_at(path, params, items_key=None, page_size=USER_PAGE_SIZE)

    def iter_assignable_user_pages(self, project_key: str) -> Iterator[list[dict[str, Any]]]:
        yield from self._walk_start_at(
            f"/rest/api/{self.api}/user/assignable/search",
            {"project": project_key},
            items_key=None,
            page_size=USER_PAGE_SIZE,
        )

    # --- agile -----------------------------------------------------------------------------------
    def iter_board_pages(self, project_key: str) -> Iterator[list[dict[str, Any]]]:
        yield from self._walk_start_at(
            "/rest/agile/1.0/board",
            {"projectKeyOrId": project_key},
            items_key="values",
            page_size=AGILE_PAGE_SIZE,
        )

    def iter_sprint_pages(self, board_id: int) -> Iterator[list[dict[str, Any]]]:
        """Sprints of a board; a kanban board has none and says so with a 400, which is fine."""
        pages = self._walk_start_at(
            f"/rest/agile/1.0/board/{board_id}/sprint",
            {},
            items_key="values",
            page_size=AGILE_PAGE_SIZE,
        )
        try:
            yield from pages
        except JiraError as exc:
            said = " ".join(exc.jira_messages).lower()
            if exc.status == 400 and "does not support sprints" in said:
                return
            raise

    # --- writes (orchestration's DOCUMENT phase) -------------------------------------------------
    def add_comment(self, issue_id: str, text: str) -> dict[str, Any]:
        """Post a plain-text comment (ADF on Cloud, wiki text on Data Center); returns Jira's comment."""
        body: Any = text if self.api == "2" else text_to_adf(text)
        path = f"/rest/api/{self.api}/issue/{issue_id}/comment"
        return _expect_dict(self._post(path, {"body": body}), "comment")

    def transition_issue(self, issue_id: str, to_status: str) -> str:
        """Move the issue to the status named ``to_status`` (or the transition of that name)."""
        path = f"/rest/api/{self.api}/issue/{issue_id}/transitions"
        transitions = _expect_list(
            _expect_dict(self._get(path), "transitions").get("transitions"), "transitions"
        )
        wanted = to_status.strip().lower()
        for transition in transitions:
            names = {
                str(transition.get("name", "")).lower(),
                str((transition.get("to") or {}).get("name", "")).lower(),
            }
            if wanted in names:
                self._post(path, {"transition": {"id": str(transition["id"])}})
                return str((transition.get("to") or {}).get("name") or transition.get("name"))
        available = ", ".join(str(t.get("name")) for t in transitions)
        raise make_error(
            JiraErrorCode.BAD_REQUEST,
            endpoint="transitions",
            detail=f"no transition to '{to_status}' ({available})",
        )

    # --- paging ----------------------------------------------------------------------------------
    def _walk_start_at(
        self,
        path: str,
        params: dict[str, Any],
        *,
        items_key: str | None,
        page_size: int,
        start_at: int = 0,
    ) -> Iterator[list[dict[str, Any]]]:
        """Walk ``startAt`` pages: stop on ``isLast``, on reaching ``total``, or on an empty page.

        A page shorter than asked is not the end (Jira caps and filters pages as it likes), so a
        bare list endpoint costs one extra, empty request at the end.
        """
        start = start_at
        while True:
            data = self._get(path, {**params, "startAt": start, "maxResults": page_size})
            is_last: Any = None
            total: Any = None
            if items_key is None:
                items = _expect_list(data, path)
            else:
                container = _expect_dict(data, path)
                items = _expect_list(container.get(items_key), f"{path} {items_key}")
                is_last, total = container.get("isLast"), container.get("total")
            if items:
                yield items
            start += len(items)
            if not items or is_last is True:
                return
            if is_last is None and isinstance(total, int) and start >= total:
                return

    # --- HTTP ------------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> JSON:
        return self._request("GET", path, params=params)

    def _post(self, path: str, body: dict[str, Any]) -> JSON:
        return self._request("POST", path, json_body=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> JSON:
        if not self._egress_checked:
            check_site_url(self.credentials.base_url, allow_private=settings.JIRAPLUS_ALLOW_PRIVATE_JIRA)
            self._egress_checked = True
        url = self.credentials.base_url + path
        endpoint = endpoint_template(method, path)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(1, self.max_attempts + 1):
            data, error, response = self._attempt(
                method, url, endpoint, attempt=attempt, params=clean_params, json_body=json_body
            )
            if error is None:
                if path not in _ANONYMOUS_PATHS:
                    self.credentials_verified = True
                return data
            if error.code is JiraErrorCode.RATE_LIMITED and error.retry_after is not None:
                # Hold every worker of this site, but never longer than we would wait ourselves.
                self.budget.pause(self.site_key, min(error.retry_after, self.retry_after_max))
            if not error.retryable or attempt == self.max_attempts:
                raise self._final_error(error, response, path)
            self._wait_before_retry(error, endpoint, attempt)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        attempt: int,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> tuple[JSON, JiraError | None, requests.Response | None]:
        waited = self.budget.acquire(self.site_key)
        started = time.monotonic()
        response: requests.Response | None = None
        data: JSON = None
        try:
            # Never follow a redirect: the checked host must not hand the request (and its credentials
            # header) to another one. Bodies are read with a cap.
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            self._read_capped(response)
            error = classify_response(
                response, credentials_verified=self.credentials_verified, endpoint=endpoint
            )
            if error is None and response.content:
                data = json.loads(response.content)
        except ResponseTooLarge as exc:
            error = make_error(JiraErrorCode.RESPONSE_TOO_LARGE, endpoint=endpoint, detail=str(exc))
        except (requests.RequestException, ValueError) as exc:
            error = classify_exception(exc, endpoint=endpoint)
        outcome: int | str = response.status_code if response is not None else ""
        if error is not None and error.code in _TRANSPORT_FAILURES:
            outcome = f"{outcome} {error.code}".strip()
        elapsed_ms = round((time.monotonic() - started) * 1000)
        self.counter.record(endpoint, outcome, elapsed_ms)
        logger.debug(
            "jira %s -> %s in %d ms (attempt %d, budget wait %.2fs)",
            endpoint,
            outcome,
            elapsed_ms,
            attempt,
            waited,
            extra={
                "jira_site": self.site_key,
                "jira_endpoint": endpoint,
                "jira_status": outcome,
                "jira_elapsed_ms": elapsed_ms,
                "jira_attempt": attempt,
                "jira_budget_wait_s": round(waited, 3),
            },
        )
        return data, error, response

    def _read_capped(self, response: requests.Response) -> None:
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise ResponseTooLarge(f"more than {self.max_response_bytes} bytes")
        finally:
            response.close()
        response._content = bytes(body)  # what .content/.json() read from now on

    def _wait_before_retry(self, error: JiraError, endpoint: str, attempt: int) -> None:
        retry_after = error.retry_after
        if retry_after is not None and retry_after > self.retry_after_max:
            raise error  # the sync layer re-schedules rather than pinning a worker
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)  # full jitter
        if retry_after is not None:
            delay = retry_after + random.uniform(0, min(self.backoff_base, 1.0))
        logger.warning(
            "jira %s failed with %s (attempt %d of %d); retrying in %.2fs",
            endpoint,
            error.code,
            attempt,
            self.max_attempts,
            delay,
            extra={
                "jira_site": self.site_key,
                "jira_endpoint": endpoint,
                "jira_status": error.status,
                "jira_error_code": str(error.code),
                "jira_attempt": attempt,
                "jira_retry_in_s": round(delay, 3),
            },
        )
        self._sleep(delay)

    def _final_error(self, error: JiraError, response: requests.Response | None, path: str) -> JiraError:
        """After the retries, a 503 HTML page may mean a deactivated site: ``/status`` decides."""
        if response is None or not looks_deactivated(response):
            return error
        if path == "/status":
            return site_deactivated_error(response, endpoint=error.endpoint)
        status_url = self.credentials.base_url + "/status"
        _, probe_error, probe = self._attempt("GET", status_url, "GET /status", attempt=1)
        if probe_error is not None and probe is not None and looks_deactivated(probe):
            return site_deactivated_error(response, endpoint=error.endpoint)
        return error


# Failures without a meaningful status: the counter key names them instead.
_TRANSPORT_FAILURES = {
    JiraErrorCode.NETWORK,
    JiraErrorCode.TIMEOUT,
    JiraErrorCode.MALFORMED_RESPONSE,
}


def _server_time(value: Any) -> datetime | None:
    try:
        return parse_jira_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _or(value: float | int | None, default: float | int) -> float:
    return float(default if value is None else value)


def _next_since(next_page: Any, until: int) -> int | None:
    """The ``since`` of the feed's next page: from its ``nextPage`` URL, else ``until``."""
    if isinstance(next_page, str) and next_page:
        values = parse_qs(urlsplit(next_page).query).get("since")
        if values and values[0].isdigit():
            return int(values[0])
    return until or None


def _expect_dict(data: JSON, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _schema_error(what, "a JSON object")
    return data


def _expect_list(data: JSON, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise _schema_error(what, "a JSON list")
    return data


def _expect_issues(data: dict[str, Any], what: str) -> list[dict[str, Any]]:
    issues = data.get("issues")
    if not isinstance(issues, list):
        raise _schema_error(what, "an 'issues' list")
    return issues


def _schema_error(what: str, expected: str) -> JiraError:
    return make_error(
        JiraErrorCode.SCHEMA_CHANGED, endpoint=what, detail=f"expected {expected} in the answer"
    )


def _recode(error: JiraError, code: JiraErrorCode) -> JiraError:
    return make_error(
        code,
        status=error.status,
        endpoint=error.endpoint,
        jira_messages=error.jira_messages,
        retry_after=error.retry_after,
    )
