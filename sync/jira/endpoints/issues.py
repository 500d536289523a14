"""Issue search (token pages on Cloud, ``startAt`` pages on Data Center), counts, single issues and
their changelogs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from sync.jira.paging import SearchPage, walk_start_at, walk_tokens
from sync.jira.shapes import expect_dict, expect_issues, schema_error
from sync.jira.transport import Transport

CHANGELOG_PAGE_SIZE = 100
BULK_CHANGELOG_ISSUES = 1000  # issues one changelog/bulkfetch may name
BULK_CHANGELOG_PAGE_SIZE = 10000  # histories a bulkfetch page may hold (Jira's largest maxResults)
ID_PAGE_SIZE = 5000


def embedded_overflow(issue_fields: dict[str, Any], kind: Literal["comment", "worklog"]) -> bool:
    """True when a search result embeds fewer comments/worklogs than the issue has (``total``)."""
    container = issue_fields.get(kind)
    if not isinstance(container, dict):
        return False
    items = container.get("comments" if kind == "comment" else "worklogs")
    total = container.get("total")
    count = len(items) if isinstance(items, list) else 0
    return isinstance(total, int) and total > count


class IssueCalls(Transport):
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
        data = expect_dict(self._post("/rest/api/3/search/jql", body), "search/jql")
        issues = expect_issues(data, "search/jql")
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
        data = expect_dict(self._post("/rest/api/2/search", body), "search")
        issues = expect_issues(data, "search")
        total = data.get("total")
        if not isinstance(total, int):
            raise schema_error("search", "total")
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
        yield from walk_tokens(
            lambda token: self.search_page(
                jql, fields=fields, expand=expand, max_results=max_results, page_token=token
            )
        )

    def iter_issue_ids(self, jql: str) -> Iterator[list[str]]:
        """Ids of every issue the JQL matches; id-only pages are large, so this is cheap."""
        for page in self.iter_search_pages(jql, fields=["id"], max_results=ID_PAGE_SIZE):
            yield [str(issue["id"]) for issue in page.issues if "id" in issue]

    def approximate_count(self, jql: str) -> int:
        if self.api == "2":
            data = expect_dict(
                self._post("/rest/api/2/search", {"jql": jql, "maxResults": 0, "fields": ["id"]}),
                "search",
            )
            key = "total"
        else:
            path = "/rest/api/3/search/approximate-count"
            data = expect_dict(self._post(path, {"jql": jql}), "search/approximate-count")
            key = "count"
        if not isinstance(data.get(key), int):
            raise schema_error("search count", key)
        return int(data[key])

    def get_issue(
        self, id_or_key: str, *, fields: Sequence[str], expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        params = {"fields": ",".join(fields), "expand": ",".join(expand) or None}
        return expect_dict(self._get(f"/rest/api/{self.api}/issue/{id_or_key}", params), "issue")

    def iter_changelog_pages(self, issue_id: str) -> Iterator[list[dict[str, Any]]]:
        """Every changelog history of an issue, oldest first (for issues whose embedded one was cut)."""
        yield from walk_start_at(
            self._get,
            f"/rest/api/{self.api}/issue/{issue_id}/changelog",
            {},
            items_key="values",
            page_size=CHANGELOG_PAGE_SIZE,
        )

    def changelogs_bulk(self, issue_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every changelog history of these issues, oldest first per issue, by issue id.

        Cloud reads them with ``changelog/bulkfetch`` (1,000 issues a call, pages chained by
        ``nextPageToken``; a page may cut an issue's histories, the next continues them); Data Center
        has no such endpoint and an issue the bulk answer leaves out (gone, or hidden from us) is read
        on its own, as both did before, so that its 404 still says what happened.
        """
        wanted = list(dict.fromkeys(str(i) for i in issue_ids))
        found: dict[str, list[dict[str, Any]]] = {}
        if self.api == "3":
            for start in range(0, len(wanted), BULK_CHANGELOG_ISSUES):
                self._bulk_changelogs(wanted[start : start + BULK_CHANGELOG_ISSUES], found)
        for issue_id in wanted:
            if issue_id not in found:
                found[issue_id] = [h for page in self.iter_changelog_pages(issue_id) for h in page]
        return {issue_id: found[issue_id] for issue_id in wanted}

    def _bulk_changelogs(self, issue_ids: list[str], found: dict[str, list[dict[str, Any]]]) -> None:
        def page(token: str | None) -> SearchPage:
            return self._bulk_changelog_page(issue_ids, token)

        for entries in walk_tokens(page):
            for entry in entries.issues:
                histories = entry.get("changeHistories") or []
                if not isinstance(histories, list):
                    raise schema_error("changelog/bulkfetch", "a 'changeHistories' list")
                found.setdefault(str(entry.get("issueId")), []).extend(histories)

    def _bulk_changelog_page(self, issue_ids: list[str], token: str | None) -> SearchPage:
        # A token-chained page like a search's, so walk_tokens follows it; its items are per-issue entries.
        body: dict[str, Any] = {"issueIdsOrKeys": issue_ids, "maxResults": BULK_CHANGELOG_PAGE_SIZE}
        if token:
            body["nextPageToken"] = token
        data = expect_dict(self._post("/rest/api/3/changelog/bulkfetch", body), "changelog/bulkfetch")
        entries = data.get("issueChangeLogs")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise schema_error("changelog/bulkfetch", "an 'issueChangeLogs' list")
        token = data.get("nextPageToken") or None
        return SearchPage(entries, None if token is None else str(token), token is None)
