"""The REST endpoints: routing table and handlers. Each handler reads the site under its lock."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fakejira.adf import plain_text
from fakejira.data import FakeData
from fakejira.jql import UNBOUNDED, JqlError
from fakejira.model import STATUSES, Issue
from fakejira.render import ALL_FIELDS, NAVIGABLE, IssueView, Renderer, parse_fields
from fakejira.search import Searcher, WorklogFeeds
from fakejira.timefmt import epoch_ms, jira_timestamp
from fakejira.wire import (
    ApiError,
    Request,
    Response,
    error,
    json_response,
    raw_json,
)

ID_ONLY_PAGE_CAP = 5000
SEARCH_BODY_KEYS = frozenset(
    {
        "jql",
        "nextPageToken",
        "maxResults",
        "fields",
        "expand",
        "properties",
        "fieldsByKeys",
        "reconcileIssues",
        "failFast",
    }
)
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."


@dataclass
class Site:
    """What the handlers need: the data and the helpers bound to it and to the server's address."""

    data: FakeData
    base_url: str

    def __post_init__(self) -> None:
        self.renderer = Renderer(self.data, self.base_url)
        self.searcher = Searcher(self.data)
        self.feeds = WorklogFeeds(self.data)

    @property
    def cloud(self) -> bool:
        return self.data.config.deployment == "Cloud"


Handler = Callable[[Site, Request], Response]


@dataclass(frozen=True)
class Route:
    name: str  # the endpoint name used in request records and stats
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    auth: str  # public | anonymous (the handler decides) | required (401 without valid credentials)
    cloud_only: bool = False


# -- platform ------------------------------------------------------------------------------------
def server_info(site: Site, req: Request) -> Response:
    cloud = site.cloud
    version = [1001, 0, 0] if cloud else [9, 12, 15]
    return json_response(
        {
            "baseUrl": site.base_url,
            "displayUrl": site.base_url,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15",
            "versionNumbers": version,
            "deploymentType": site.data.config.deployment,
            "buildNumber": 100282 if cloud else 9120015,
            "buildDate": "2025-01-06T09:00:00.000+0000",
            "serverTime": jira_timestamp(site.data.now(), site.data.zone),
            "scmInfo": "0123456789abcdef0123456789abcdef01234567",
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
        }
    )


def status(site: Site, req: Request) -> Response:
    return json_response({"state": "RUNNING"})


def myself(site: Site, req: Request) -> Response:
    with site.data.lock:
        me = dict(site.renderer.user(site.data.api_user_id, req.api) or {})
        me.update(
            {
                "locale": "en_US",
                "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
        return json_response(me)


def field_list(site: Site, req: Request) -> Response:
    return json_response(site.renderer.field_list())


# -- projects ------------------------------------------------------------------------------------
def project_search(site: Site, req: Request) -> Response:
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=100)
    with site.data.lock:
        projects = list(site.data.projects.values()) if req.authenticated else []
        keys = {key.upper() for key in req.args("keys")}
        if keys:
            projects = [p for p in projects if p.key in keys or str(p.id) in keys]
        query = (req.arg("query") or "").lower()
        if query:
            projects = [p for p in projects if query in p.key.lower() or query in p.name.lower()]
        page = projects[start_at : start_at + max_results]
        is_last = start_at + len(page) >= len(projects)
        body: dict[str, Any] = {
            "self": _url(site, req.path, req.query),
            "maxResults": max_results,
            "startAt": start_at,
            "total": len(projects),
            "isLast": is_last,
            "values": [site.renderer.project(p, req.api) for p in page],
        }
        if not is_last:
            body["nextPage"] = _url(site, req.path, req.query, startAt=start_at + max_results)
        return json_response(body)


def project_list(site: Site, req: Request) -> Response:
    """``GET /rest/api/2/project``: every visible project in one unpaged list (Data Center's way)."""
    with site.data.lock:
        projects = list(site.data.projects.values()) if req.authenticated else []
        return json_response([site.renderer.project(p, req.api) for p in projects])


def project_get(site: Site, req: Request) -> Response:
    ref = req.params["ref"]
    with site.data.lock:
        project = site.data.find_project(ref) if req.authenticated else None
        if project is None:  # anonymous callers cannot see any project
            return error(404, f"No project could be found with key '{ref}'.")
        body = site.renderer.project(project, req.api)
        body.update(
            {
                "description": f"The {project.key} team's work.",
                "lead": site.renderer.user(project.lead, req.api),
                "issueTypes": [
                    site.renderer.issuetype(name) for name in ("Epic", "Story", "Task", "Bug", "Sub-task")
                ],
            }
        )
        return json_response(body)


# -- search --------------------------------------------------------------------------------------
@dataclass
class _SearchParams:
    jql: str
    token: str | None
    max_results: int
    view: IssueView


def _search_params(
    req: Request, default_fields: frozenset[str], extra_keys: frozenset[str] = frozenset()
) -> _SearchParams:
    if req.method == "POST":
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(error(400, "The request body must be a JSON object."))
        unknown = sorted(set(body) - SEARCH_BODY_KEYS - extra_keys)
        if unknown:
            raise ApiError(
                error(
                    400,
                    f'Unrecognized field "{unknown[0]}" (class com.atlassian.jira.rest.v2.search.'
                    "SearchAndReconcileRequestBean), not marked as ignorable",
                )
            )
        jql = body.get("jql") or ""
        token = body.get("nextPageToken")
        max_results = body.get("maxResults", 50)
        fields = body.get("fields")
        expand = body.get("expand") or ""
        reconcile = body.get("reconcileIssues") or []
    else:
        jql = req.arg("jql", "") or ""
        token = req.arg("nextPageToken")
        max_results = req.arg("maxResults") or 50
        fields = req.args("fields") if "fields" in req.query else None
        expand = ",".join(req.args("expand"))
        reconcile = req.args("reconcileIssues")
    if not isinstance(jql, str) or (token is not None and not isinstance(token, str)):
        raise ApiError(error(400, "'jql' and 'nextPageToken' must be strings."))
    try:
        max_results = int(max_results)
    except (TypeError, ValueError):
        raise ApiError(error(400, "'maxResults' must be a number.")) from None
    if not isinstance(reconcile, list) or len(reconcile) > 50:
        raise ApiError(error(400, "reconcileIssues accepts at most 50 issue ids."))
    expand_items = expand if isinstance(expand, list) else str(expand).split(",")
    view = IssueView(
        fields=parse_fields(fields, default_fields),
        api=req.api,
        changelog="changelog" in {item.strip() for item in expand_items},
    )
    return _SearchParams(jql, token, max_results, view)


def _page_size(site: Site, requested: int, view: IssueView) -> int:
    # Jira "may return fewer" than asked: ids-only pages hold up to 5000, pages with fields far fewer.
    cap = site.data.config.search_page_cap if view.fields else ID_ONLY_PAGE_CAP
    return max(1, min(requested, cap))


def search_jql(site: Site, req: Request) -> Response:
    params = _search_params(req, default_fields=frozenset())
    if not req.authenticated:  # runs as an anonymous user who can see nothing
        return json_response({"issues": [], "isLast": True})
    size = _page_size(site, params.max_results, params.view)
    with site.data.lock:
        try:
            issues, token = site.searcher.page(params.jql, params.token, size)
        except JqlError as problem:
            return error(400, str(problem))
        parts = ",".join(site.renderer.issue_json(issue, params.view) for issue in issues)
    tail = f',"nextPageToken":"{token}","isLast":false}}' if token else ',"isLast":true}'
    return raw_json('{"issues":[' + parts + "]" + tail)


def search_legacy(site: Site, req: Request) -> Response:
    if site.cloud:
        return error(410, REMOVED_SEARCH)
    # Data Center keeps the offset-paged search, with fields defaulting to *navigable.
    params = _search_params(req, NAVIGABLE, frozenset({"startAt", "validateQuery"}))
    if req.method == "POST":
        body = req.json() or {}
        start_at = int(body.get("startAt", 0) or 0)
    else:
        start_at = req.int_arg("startAt", 0)
    # maxResults=0 is how Data Center clients ask for just the total.
    size = 0 if params.max_results == 0 else _page_size(site, params.max_results, params.view)
    with site.data.lock:
        issues: list[Issue] = []
        total = 0
        if req.authenticated:  # anonymous callers see nothing
            try:
                issues, total = site.searcher.offset_page(params.jql, max(0, start_at), size)
            except JqlError as problem:
                return error(400, str(problem))
        parts = ",".join(site.renderer.issue_json(issue, params.view) for issue in issues)
    head = f'{{"expand":"schema,names","startAt":{start_at},"maxResults":{size},"total":{total},"issues":['
    return raw_json(head + parts + "]}")


def approximate_count(site: Site, req: Request) -> Response:
    body = req.json()
    jql = body.get("jql") if isinstance(body, dict) else None
    if not jql:
        return error(400, UNBOUNDED)
    if not req.authenticated:
        return json_response({"count": 0})
    with site.data.lock:
        try:
            return json_response({"count": site.searcher.count(str(jql))})
        except JqlError as problem:
            return error(400, str(problem))


# -- issues, comments, worklogs ------------------------------------------------------------------
def _issue_or_404(site: Site, req: Request) -> Issue:
    issue = site.data.find_issue(req.params["ref"])
    if issue is None:
        raise ApiError(error(404, ISSUE_MISSING))
    return issue


def issue_get(site: Site, req: Request) -> Response:
    fields = req.args("fields") if "fields" in req.query else None
    view = IssueView(parse_fields(fields, ALL_FIELDS), req.api, "changelog" in req.args("expand"))
    with site.data.lock:
        issue = _issue_or_404(site, req)
        return raw_json(site.renderer.issue_json(issue, view))


def issue_comments(site: Site, req: Request) -> Response:
    if req.method == "POST":
        return _comment_add(site, req)
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=100)
    order = (req.arg("orderBy") or "created").strip()
    with site.data.lock:
        issue = _issue_or_404(site, req)
        comments = sorted(issue.comments, key=lambda c: (c.created, c.id), reverse=order.startswith("-"))
        page = comments[start_at : start_at + max_results]
        return json_response(
            {
                "self": f"{site.base_url}/rest/api/{req.api}/issue/{issue.id}/comment",
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(comments),
                "comments": [site.renderer.comment(c, req.api) for c in page],
            }
        )


def _comment_add(site: Site, req: Request) -> Response:
    body = (req.json() or {}).get("body")
    text = plain_text(body).strip() if isinstance(body, dict | str) else ""
    if not text:
        return error(400, errors={"comment": "Comment body can not be empty!"})
    with site.data.lock:
        issue = _issue_or_404(site, req)
        site.data.add_comment(issue.id, text)
        return json_response(site.renderer.comment(issue.comments[-1], req.api), 201)


def issue_transitions(site: Site, req: Request) -> Response:
    """The workflow allows every status from every other one; POST moves the issue (204, like Jira)."""
    with site.data.lock:
        issue = _issue_or_404(site, req)
        if req.method == "POST":
            wanted = str(((req.json() or {}).get("transition") or {}).get("id", ""))
            target = next((s for s in STATUSES.values() if s.id == wanted and s.name != issue.status), None)
            if target is None:
                return error(400, f"Transition id '{wanted}' is not valid for this issue.")
            site.data.update_issue(issue.id, status=target.name)
            return Response(204)
        return json_response(
            {
                "transitions": [
                    {"id": s.id, "name": s.name, "to": {"id": s.id, "name": s.name}}
                    for s in STATUSES.values()
                    if s.name != issue.status
                ]
            }
        )


def issue_changelog(site: Site, req: Request) -> Response:
    """``GET /issue/{id}/changelog``: the whole changelog, oldest first, in pages of at most 100."""
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 100, minimum=1, maximum=100)
    with site.data.lock:
        issue = _issue_or_404(site, req)
        page = issue.changelog[start_at : start_at + max_results]
        body: dict[str, Any] = {
            "self": _url(site, req.path, req.query),
            "maxResults": max_results,
            "startAt": start_at,
            "total": len(issue.changelog),
            "isLast": start_at + len(page) >= len(issue.changelog),
            "values": [site.renderer.history(h, req.api) for h in page],
        }
        if not body["isLast"]:
            body["nextPage"] = _url(site, req.path, {}, startAt=start_at + len(page), maxResults=max_results)
        return json_response(body)


BULK_CHANGELOG_ISSUES = 1000
BULK_CHANGELOG_PAGE = (1000, 10000)  # default and largest maxResults (histories a page)
BULK_CHANGELOG_FIELDS = 10


def changelog_bulkfetch(site: Site, req: Request) -> Response:
    """``POST /rest/api/3/changelog/bulkfetch`` (Cloud): the histories of up to 1,000 issues, oldest first
    and then by issue id, ``maxResults`` histories a page; ``issueChangeLogs`` groups a page's run of one
    issue's histories, so an issue cut by a page boundary continues on the next page."""
    body = req.json()
    if not isinstance(body, dict):
        return error(400, "The request body must be a JSON object.")
    refs = body.get("issueIdsOrKeys")
    if not isinstance(refs, list) or not 1 <= len(refs) <= BULK_CHANGELOG_ISSUES:
        return error(400, f"Provide between 1 and {BULK_CHANGELOG_ISSUES} issue ids or keys.")
    field_ids = body.get("fieldIds") or []
    if not isinstance(field_ids, list) or len(field_ids) > BULK_CHANGELOG_FIELDS:
        return error(400, f"You can filter by at most {BULK_CHANGELOG_FIELDS} field ids.")
    try:
        size = int(body.get("maxResults") or BULK_CHANGELOG_PAGE[0])
        offset = _bulk_offset(body.get("nextPageToken"))
    except (TypeError, ValueError, binascii.Error, UnicodeDecodeError):
        return error(400, "'maxResults' must be a number and 'nextPageToken' one this API returned.")
    size = max(1, min(size, BULK_CHANGELOG_PAGE[1]))
    wanted = {str(f) for f in field_ids}
    with site.data.lock:
        # Issues the caller cannot see (or that do not exist) are left out, as Jira does.
        issues = {i.id: i for i in (site.data.find_issue(str(r)) for r in refs) if i is not None}
        ordered = sorted(
            (
                (history.created, issue.id, index, history)
                for issue in issues.values()
                for index, history in enumerate(issue.changelog)
            ),
            key=lambda entry: entry[:3],
        )
        entries: list[dict[str, Any]] = []
        for _, issue_id, _, history in ordered[offset : offset + size]:
            rendered = site.renderer.history(history, req.api)
            if wanted:
                rendered["items"] = [i for i in rendered["items"] if i.get("fieldId", i["field"]) in wanted]
                if not rendered["items"]:
                    continue
            if not entries or entries[-1]["issueId"] != str(issue_id):
                entries.append({"issueId": str(issue_id), "changeHistories": []})
            entries[-1]["changeHistories"].append(rendered)
        answer: dict[str, Any] = {"issueChangeLogs": entries}
        if offset + size < len(ordered):
            answer["nextPageToken"] = _bulk_token(offset + size)
        return json_response(answer)


def _bulk_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"changelog:{offset}".encode()).decode()


def _bulk_offset(token: Any) -> int:
    if token is None:
        return 0
    kind, _, offset = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
    if kind != "changelog" or not offset.isdigit():
        raise ValueError(token)
    return int(offset)


def issue_worklogs(site: Site, req: Request) -> Response:
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 5000, minimum=1, maximum=5000)
    after = req.int_arg("startedAfter", 0)
    before = req.arg("startedBefore")
    with site.data.lock:
        issue = _issue_or_404(site, req)
        worklogs = [w for w in issue.worklogs if epoch_ms(w.started) >= after]
        if before:
            worklogs = [w for w in worklogs if epoch_ms(w.started) < req.int_arg("startedBefore", 0)]
        page = worklogs[start_at : start_at + max_results]
        return json_response(
            {
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(worklogs),
                "worklogs": [site.renderer.worklog(w, req.api) for w in page],
            }
        )


def _feed(site: Site, req: Request, deleted: bool) -> Response:
    since = req.int_arg("since", 0)
    with site.data.lock:
        items, last_page = site.feeds.deleted(since) if deleted else site.feeds.updated(since)
    until = items[-1][0] if items else since
    body: dict[str, Any] = {
        "values": [
            {"worklogId": worklog_id, "updatedTime": at, "properties": []} for at, worklog_id in items
        ],
        "since": since,
        "until": until,
        "self": _url(site, req.path, req.query),
        "lastPage": last_page,
    }
    if not last_page:
        body["nextPage"] = _url(site, req.path, {}, since=until)
    return json_response(body)


def worklog_updated(site: Site, req: Request) -> Response:
    return _feed(site, req, deleted=False)


def worklog_deleted(site: Site, req: Request) -> Response:
    return _feed(site, req, deleted=True)


def worklog_list(site: Site, req: Request) -> Response:
    body = req.json()
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
        return error(400, "Provide between 1 and 1000 worklog ids.", errors={"ids": "size must be 1-1000"})
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        return error(400, "Worklog ids must be numbers.")
    with site.data.lock:
        found = [w for w in (site.data.worklog_by_id(i) for i in wanted) if w is not None]
        return json_response([site.renderer.worklog(w, req.api) for w in found])


# -- users ---------------------------------------------------------------------------------------
def users_search(site: Site, req: Request) -> Response:
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=1000)
    with site.data.lock:
        users = list(site.data.users)[start_at : start_at + max_results]
        return json_response([site.renderer.user(u, req.api) for u in users])


def user_search(site: Site, req: Request) -> Response:
    """``GET /rest/api/2/user/search``: users matching ``username`` (Data Center, where "." matches all)
    or ``query`` (Cloud)."""
    needle = (req.arg("username") or req.arg("query") or "").strip().lower()
    if not needle:
        return error(400, "The username query parameter was not provided")
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=1000)
    with site.data.lock:
        users = [
            u.account_id
            for u in site.data.users.values()
            if needle == "." or needle in u.display_name.lower() or needle in (u.email or "").lower()
        ]
        page = users[start_at : start_at + max_results]
        return json_response([site.renderer.user(u, req.api) for u in page])


def assignable_search(site: Site, req: Request) -> Response:
    ref = req.arg("project") or req.arg("projectKeys")
    if not ref:
        return error(400, "A project key or id is required.")
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=1000)
    with site.data.lock:
        if site.data.find_project(ref) is None:
            return error(404, f"No project could be found with key '{ref}'.")
        people = [
            u.account_id for u in site.data.users.values() if u.active and u.account_type == "atlassian"
        ]
        page = people[start_at : start_at + max_results]
        return json_response([site.renderer.user(u, req.api) for u in page])


# -- agile ---------------------------------------------------------------------------------------
def boards(site: Site, req: Request) -> Response:
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=50)
    ref = req.arg("projectKeyOrId")
    kind = req.arg("type")
    with site.data.lock:
        found = list(site.data.boards.values())
        if ref:
            project = site.data.find_project(ref)
            if project is None:
                return error(
                    400, errors={"projectKeyOrId": f"No project could be found with key or id '{ref}'"}
                )
            found = [b for b in found if b.project_key == project.key]
        if kind:
            found = [b for b in found if b.type in kind.split(",")]
        page = found[start_at : start_at + max_results]
        return json_response(
            {
                "maxResults": max_results,
                "startAt": start_at,
                "total": len(found),
                "isLast": start_at + len(page) >= len(found),
                "values": [site.renderer.board(b) for b in page],
            }
        )


def board_sprints(site: Site, req: Request) -> Response:
    start_at = req.int_arg("startAt", 0)
    max_results = req.int_arg("maxResults", 50, minimum=1, maximum=50)
    states = set(req.args("state"))
    with site.data.lock:
        board = site.data.boards.get(int(req.params["board"]))
        if board is None:
            return error(404, "Board does not exist or you do not have permission to see it.")
        if board.type != "scrum":
            return error(400, "The board does not support sprints")
        sprints = [
            s
            for s in site.data.sprints.values()
            if s.board_id == board.id and (not states or s.state in states)
        ]
        page = sprints[start_at : start_at + max_results]
        return json_response(
            {  # no `total` here, unlike most agile lists
                "maxResults": max_results,
                "startAt": start_at,
                "isLast": start_at + len(page) >= len(sprints),
                "values": [site.renderer.sprint(s) for s in page],
            }
        )


def sprint_get(site: Site, req: Request) -> Response:
    with site.data.lock:
        sprint = site.data.sprints.get(int(req.params["sprint"]))
        if sprint is None:
            return error(404, "Sprint does not exist or you do not have permission to see it.")
        return json_response(site.renderer.sprint(sprint))


def _url(site: Site, path: str, query: dict[str, list[str]], **overrides: Any) -> str:
    params = {k: v for k, v in query.items() if k not in overrides}
    pairs = [(k, value) for k, values in params.items() for value in values]
    pairs += [(k, str(v)) for k, v in overrides.items()]
    return f"{site.base_url}{path}" + (f"?{urlencode(pairs)}" if pairs else "")


_API = r"/rest/api/(?P<api>[23])"
_GET, _POST, _GET_POST = ("GET",), ("POST",), ("GET", "POST")


def _route(
    name: str,
    methods: tuple[str, ...],
    pattern: str,
    handler: Handler,
    auth: str = "required",
    *,
    cloud_only: bool = False,
) -> Route:
    return Route(name, methods, re.compile(pattern + r"/?\Z"), handler, auth, cloud_only)


ROUTES: tuple[Route, ...] = (
    _route("status", _GET, r"/status", status, "public"),
    _route("serverInfo", _GET, _API + r"/serverInfo", server_info, "public"),
    _route("myself", _GET, _API + r"/myself", myself),
    _route("field", _GET, _API + r"/field", field_list),
    _route("project_search", _GET, _API + r"/project/search", project_search, "anonymous"),
    _route("project_list", _GET, _API + r"/project", project_list, "anonymous"),
    _route("project", _GET, _API + r"/project/(?P<ref>[^/]+)", project_get, "anonymous"),
    _route("search_jql", _GET_POST, _API + r"/search/jql", search_jql, "anonymous", cloud_only=True),
    _route(
        "approximate_count",
        _POST,
        _API + r"/search/approximate-count",
        approximate_count,
        "anonymous",
        cloud_only=True,
    ),
    _route("search", _GET_POST, _API + r"/search", search_legacy, "anonymous"),
    _route("issue_comments", _GET_POST, _API + r"/issue/(?P<ref>[^/]+)/comment", issue_comments),
    _route("issue_transitions", _GET_POST, _API + r"/issue/(?P<ref>[^/]+)/transitions", issue_transitions),
    _route("issue_worklogs", _GET, _API + r"/issue/(?P<ref>[^/]+)/worklog", issue_worklogs),
    _route("issue_changelog", _GET, _API + r"/issue/(?P<ref>[^/]+)/changelog", issue_changelog),
    _route("issue", _GET, _API + r"/issue/(?P<ref>[^/]+)", issue_get),
    _route(
        "changelog_bulkfetch", _POST, _API + r"/changelog/bulkfetch", changelog_bulkfetch, cloud_only=True
    ),
    _route("worklog_updated", _GET, _API + r"/worklog/updated", worklog_updated),
    _route("worklog_deleted", _GET, _API + r"/worklog/deleted", worklog_deleted),
    _route("worklog_list", _POST, _API + r"/worklog/list", worklog_list),
    _route("users_search", _GET, _API + r"/users/search", users_search),
    _route("user_search", _GET, _API + r"/user/search", user_search),
    _route("assignable_search", _GET, _API + r"/user/assignable/search", assignable_search),
    _route("boards", _GET, r"/rest/agile/1\.0/board", boards),
    _route("board_sprints", _GET, r"/rest/agile/1\.0/board/(?P<board>\d+)/sprint", board_sprints),
    _route("sprint", _GET, r"/rest/agile/1\.0/sprint/(?P<sprint>\d+)", sprint_get),
)


def resolve(path: str, deployment: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``path`` on this deployment (Data Center has no v3 API and no search/jql)."""
    for route in ROUTES:
        match = route.pattern.match(path)
        if match is None:
            continue
        params = match.groupdict()
        if deployment != "Cloud" and (route.cloud_only or params.get("api") == "3"):
            return None
        return route, params
    return None
