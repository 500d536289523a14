"""The JQL subset the fake understands: a tokenizer, a recursive-descent parser and a compiler to predicates.

Supported: ``AND``/``OR``/``NOT`` with parentheses; ``project``, ``key``/``issuekey``, ``id``, ``parent``,
``assignee``, ``reporter``, ``worklogAuthor`` (any worklog's author), ``status``, ``issuetype``/``type``,
``priority``, ``labels``, ``sprint``, ``created``/``updated``/``resolved`` with ``= != > >= < <= IN NOT IN
IS [NOT] EMPTY``; functions ``now()``, ``startOfDay()``, ``currentUser()``, ``openSprints()``,
``closedSprints()``; ``ORDER BY`` on updated, created, resolved, id and key. Dates are read in the API
user's time zone at minute granularity, as Jira does. Error messages use Jira's wording so clients can be
tested against them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fakejira.model import ISSUE_TYPES, PRIORITIES, STATUSES, Issue, Project
from fakejira.timefmt import epoch_ms

if TYPE_CHECKING:
    from fakejira.data import FakeData

Predicate = Callable[[Issue], bool]
SortKey = Callable[[Issue], tuple[int, ...]]

_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"}
_OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
_OPERATOR_HINT = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_DATE_HINT = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."


class JqlError(ValueError):
    """A query Jira would reject with 400; ``str(error)`` is the errorMessages entry."""


# -- tokens --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # word | string | op | ( | ) | , | eof
    text: str
    position: int  # 1-based character, as in Jira's messages

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in _KEYWORDS else None

    def shown(self) -> str:
        return "EOF" if self.kind == "eof" else self.text


_WORD = re.compile(r"[^\s=!<>~(),\"']+")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "(),":
            tokens.append(Token(char, char, index + 1))
            index += 1
        elif char in "\"'":
            end = index + 1
            chars: list[str] = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                chars.append(text[end])
                end += 1
            if end >= len(text):
                raise _syntax(f"The quoted string '{text[index + 1 :]}' has not been completed.", index + 1)
            tokens.append(Token("string", "".join(chars), index + 1))
            index = end + 1
        elif operator := next((op for op in _OPERATORS if text.startswith(op, index)), None):
            tokens.append(Token("op", operator, index + 1))
            index += len(operator)
        elif match := _WORD.match(text, index):
            tokens.append(Token("word", match.group(), index + 1))
            index = match.end()
        else:
            raise _syntax(f"The character '{char}' is a reserved JQL character.", index + 1)
    tokens.append(Token("eof", "", len(text) + 1))
    return tokens


def _syntax(message: str, position: int) -> JqlError:
    return JqlError(f"Error in the JQL Query: {message} (line 1, character {position})")


# -- syntax tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operand:
    text: str
    quoted: bool = False
    function: bool = False
    args: tuple[str, ...] = ()
    empty: bool = False  # EMPTY / NULL


@dataclass(frozen=True)
class Clause:
    field: str  # lower case
    operator: str  # =, !=, >, >=, <, <=, ~, !~, in, not in, is, is not
    operands: tuple[Operand, ...]
    position: int


@dataclass(frozen=True)
class BoolNode:
    op: str  # and | or | not
    parts: tuple[Node, ...]


Node = Clause | BoolNode


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[tuple[str, bool], ...] = field(default=())  # (field, descending)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Query:
        where: Node | None = None
        if self.current.keyword != "ORDER" and self.current.kind != "eof":
            where = self.parse_or()
        order: list[tuple[str, bool]] = []
        if self.current.keyword == "ORDER":
            self.take()
            if self.current.keyword != "BY":
                raise _syntax(f"Expecting 'by' but got '{self.current.shown()}'.", self.current.position)
            self.take()
            order = self.parse_order()
        if self.current.kind != "eof":
            raise _syntax(
                f"Expecting either 'OR' or 'AND' but got '{self.current.shown()}'.", self.current.position
            )
        return Query(where, tuple(order))

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.current.keyword == "OR":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else BoolNode("or", tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_not()]
        while self.current.keyword == "AND":
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else BoolNode("and", tuple(parts))

    def parse_not(self) -> Node:
        if self.current.keyword == "NOT":
            self.take()
            return BoolNode("not", (self.parse_not(),))
        if self.current.kind == "(":
            self.take()
            node = self.parse_or()
            if self.current.kind != ")":
                raise _syntax(f"Expecting ')' but got '{self.current.shown()}'.", self.current.position)
            self.take()
            return node
        return self.parse_clause()

    def parse_clause(self) -> Clause:
        token = self.current
        if token.kind not in ("word", "string") or token.keyword:
            raise _syntax(f"Expecting a field name but got '{token.shown()}'.", token.position)
        self.take()
        name = token.text.lower()
        operator = self.parse_operator()
        if operator in ("is", "is not"):
            value = self.current
            if value.keyword not in ("EMPTY", "NULL"):
                raise _syntax(f"Expecting 'EMPTY' or 'NULL' but got '{value.shown()}'.", value.position)
            self.take()
            return Clause(name, operator, (Operand(value.text, empty=True),), token.position)
        if operator in ("in", "not in"):
            if self.current.kind == "(":
                self.take()
                operands = [self.parse_operand()]
                while self.current.kind == ",":
                    self.take()
                    operands.append(self.parse_operand())
                if self.current.kind != ")":
                    raise _syntax(f"Expecting ')' but got '{self.current.shown()}'.", self.current.position)
                self.take()
                return Clause(name, operator, tuple(operands), token.position)
            operand = self.parse_operand()
            if not operand.function:
                raise _syntax(f"Expecting '(' but got '{operand.text}'.", token.position)
            return Clause(name, operator, (operand,), token.position)
        return Clause(name, operator, (self.parse_operand(),), token.position)

    def parse_operator(self) -> str:
        token = self.current
        if token.kind == "op":
            self.take()
            return token.text
        if token.keyword == "IN":
            self.take()
            return "in"
        if token.keyword == "IS":
            self.take()
            if self.current.keyword == "NOT":
                self.take()
                return "is not"
            return "is"
        if token.keyword == "NOT":
            self.take()
            if self.current.keyword != "IN":
                raise _syntax(f"Expecting 'IN' but got '{self.current.shown()}'.", self.current.position)
            self.take()
            return "not in"
        raise _syntax(f"Expecting operator but got '{token.shown()}'. {_OPERATOR_HINT}", token.position)

    def parse_operand(self) -> Operand:
        token = self.current
        if token.kind == "string":
            self.take()
            return Operand(token.text, quoted=True)
        if token.kind == "word" and token.keyword in ("EMPTY", "NULL"):
            self.take()
            return Operand(token.text, empty=True)
        if token.kind == "word" and not token.keyword:
            self.take()
            if self.current.kind == "(":
                self.take()
                args: list[str] = []
                while self.current.kind in ("word", "string"):
                    args.append(self.take().text)
                    if self.current.kind == ",":
                        self.take()
                if self.current.kind != ")":
                    raise _syntax(f"Expecting ')' but got '{self.current.shown()}'.", self.current.position)
                self.take()
                return Operand(token.text, function=True, args=tuple(args))
            return Operand(token.text)
        message = f"Expecting either a value, list or function but got '{token.shown()}'."
        if token.keyword:  # a reserved word used as a value
            message += f" You must surround '{token.text}' in quotation marks to use it as a value."
        raise _syntax(message, token.position)

    def parse_order(self) -> list[tuple[str, bool]]:
        order = []
        while True:
            token = self.current
            if token.kind not in ("word", "string") or token.keyword:
                raise _syntax(
                    f"Expecting a field name at the end of the query but got '{token.shown()}'.",
                    token.position,
                )
            self.take()
            descending = False
            if self.current.keyword in ("ASC", "DESC"):
                descending = self.take().keyword == "DESC"
            order.append((token.text.lower(), descending))
            if self.current.kind != ",":
                return order
            self.take()


def parse(text: str) -> Query:
    return _Parser(text or "").parse()


# -- compilation ---------------------------------------------------------------------------------
@dataclass
class CompiledQuery:
    predicate: Predicate
    sort_key: SortKey
    projects: list[str] | None  # when every match must be in these projects: search only their issues
    volatile: bool  # depends on the clock (relative dates, now()): never cache its result


_FIELD_ALIASES = {
    "issuekey": "key",
    "type": "issuetype",
    "resolutiondate": "resolved",
    "resolution date": "resolved",
}
_DATE_FIELDS = {"created", "updated", "resolved"}
_ORDERABLE = {"created", "updated", "resolved", "id", "key"}
_KNOWN_FIELDS = _DATE_FIELDS | {
    "project",
    "key",
    "id",
    "parent",
    "assignee",
    "reporter",
    "worklogauthor",
    "status",
    "issuetype",
    "priority",
    "labels",
    "sprint",
}
_EQUALITY = {"=", "!=", "in", "not in", "is", "is not"}
_ORDERED = _EQUALITY | {">", ">=", "<", "<="}


class _Compiler:
    def __init__(self, data: FakeData) -> None:
        self.data = data
        self.volatile = False
        self.now = data.now()

    def compile(self, query: Query) -> CompiledQuery:
        if query.where is None:
            raise JqlError(UNBOUNDED)
        predicate = self.node(query.where)
        return CompiledQuery(predicate, self.sort_key(query.order), self.projects(query.where), self.volatile)

    def node(self, node: Node) -> Predicate:
        if isinstance(node, Clause):
            return self.clause(node)
        parts = [self.node(part) for part in node.parts]
        if node.op == "not":
            inner = parts[0]
            return lambda issue: not inner(issue)
        if node.op == "and":
            return lambda issue: all(part(issue) for part in parts)
        return lambda issue: any(part(issue) for part in parts)

    def projects(self, node: Node) -> list[str] | None:
        """Projects a match must belong to, when a top-level AND (or the whole query) pins them."""
        clauses = [node] if isinstance(node, Clause) else list(node.parts) if node.op == "and" else []
        for clause in clauses:
            if isinstance(clause, Clause) and clause.field == "project" and clause.operator in ("=", "in"):
                keys = [self.project(op).key for op in clause.operands if not op.empty]
                return sorted(set(keys))
        return None

    def clause(self, clause: Clause) -> Predicate:
        name = _FIELD_ALIASES.get(clause.field, clause.field)
        if name not in _KNOWN_FIELDS:
            raise JqlError(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
        allowed = _ORDERED if name in _DATE_FIELDS or name in ("id", "key") else _EQUALITY
        if name == "labels":
            allowed = _EQUALITY
        if clause.operator not in allowed:
            raise JqlError(
                f"The operator '{clause.operator}' is not supported by the '{clause.field}' field."
            )
        if name in _DATE_FIELDS:
            return self.date_clause(name, clause)
        if name == "id":
            return self.id_clause(clause)
        getter, values = self.values(name, clause)
        return _match(clause.operator, getter, values, multi=name in ("labels", "sprint", "worklogauthor"))

    def values(self, name: str, clause: Clause) -> tuple[Callable[[Issue], object], set[object]]:
        data = self.data
        out: set[object] = set()
        for operand in clause.operands:
            if operand.empty:
                out.add(None)
            elif name == "project":
                out.add(self.project(operand).key)
            elif name in ("key", "parent"):
                issue = data.find_issue(operand.text)
                out.add(issue.id if issue else -1)  # an unknown key matches nothing
            elif name in ("assignee", "reporter", "worklogauthor"):
                if operand.function and operand.text.lower() == "currentuser":
                    out.add(data.api_user_id)
                else:
                    self.no_function(operand, name)
                    out.add(operand.text)
            elif name == "sprint":
                out.update(self.sprints(operand))
            elif name in ("status", "issuetype", "priority"):
                self.no_function(operand, name)
                catalogues: dict[str, Iterable[str]] = {
                    "status": STATUSES,
                    "issuetype": ISSUE_TYPES,
                    "priority": PRIORITIES,
                }
                names = list(catalogues[name])
                wanted = operand.text.lower()
                match = next((known for known in names if known.lower() == wanted), None)
                if match is None:
                    raise JqlError(
                        f"The value '{operand.text}' does not exist for the field '{clause.field}'."
                    )
                out.add(match)
            else:  # labels
                out.add(operand.text)
        getters: dict[str, Callable[[Issue], object]] = {
            "project": lambda i: i.project_key,
            "key": lambda i: i.id,
            "parent": lambda i: i.parent_id,
            "assignee": lambda i: i.assignee,
            "reporter": lambda i: i.reporter,
            # As in Jira: an issue matches when any of its worklogs has a listed author.
            "worklogauthor": lambda i: [w.author for w in i.worklogs],
            "status": lambda i: i.status,
            "issuetype": lambda i: i.issuetype,
            "priority": lambda i: i.priority,
            "labels": lambda i: i.labels,
            "sprint": lambda i: i.sprint_ids,
        }
        return getters[name], out

    def no_function(self, operand: Operand, name: str) -> None:
        if operand.function:
            raise JqlError(f"Unable to find JQL function '{operand.text}()' for the field '{name}'.")

    def project(self, operand: Operand) -> Project:
        project = self.data.find_project(operand.text)
        if project is None or operand.function:
            raise JqlError(f"The value '{operand.text}' does not exist for the field 'project'.")
        return project

    def sprints(self, operand: Operand) -> Iterable[int]:
        sprints = self.data.sprints.values()
        if operand.function:
            states = {
                "opensprints": ("active", "future"),
                "closedsprints": ("closed",),
                "futuresprints": ("future",),
            }.get(operand.text.lower())
            if states is None:
                raise JqlError(f"Unable to find JQL function '{operand.text}()'.")
            return [s.id for s in sprints if s.state in states]
        if operand.text.isdigit() and not operand.quoted:
            return [int(operand.text)]
        named = [s.id for s in sprints if s.name.lower() == operand.text.lower()]
        if not named and operand.text.isdigit():
            return [int(operand.text)]
        if not named:
            raise JqlError(f"The value '{operand.text}' does not exist for the field 'sprint'.")
        return named

    def id_clause(self, clause: Clause) -> Predicate:
        ids: list[int] = []
        for operand in clause.operands:
            if operand.empty or not operand.text.isdigit():
                raise JqlError(f"The value '{operand.text}' is not a valid issue id for the field 'id'.")
            ids.append(int(operand.text))
        if clause.operator in _EQUALITY:
            return _match(clause.operator, lambda i: i.id, set(ids), multi=False)
        return _compare(clause.operator, lambda i: i.id, ids[0])

    def date_clause(self, name: str, clause: Clause) -> Predicate:
        def getter(issue: Issue) -> int | None:
            moment = getattr(issue, name)
            return epoch_ms(moment) if moment is not None else None

        if clause.operator in ("is", "is not"):
            return _match(clause.operator, getter, {None}, multi=False)
        bounds = {None if op.empty else epoch_ms(self.date(op, clause.field)) for op in clause.operands}
        if clause.operator in _EQUALITY:
            return _match(clause.operator, getter, set(bounds), multi=False)
        bound = next(iter(bounds))
        if bound is None:
            raise JqlError(
                f"The operator '{clause.operator}' is not supported with EMPTY for '{clause.field}'."
            )
        return _compare(clause.operator, getter, bound)

    def date(self, operand: Operand, field_name: str) -> datetime:
        zone = self.data.zone
        if operand.function:
            name = operand.text.lower()
            self.volatile = True
            if name == "now":
                return self.now
            if name == "startofday":
                local = self.now.astimezone(zone)
                start = datetime(local.year, local.month, local.day, tzinfo=zone)
                shift = _period(operand.args[0]) if operand.args else timedelta(0)
                if shift is None:
                    raise JqlError(
                        f"Date value '{operand.args[0]}' for field '{field_name}' is invalid. {_DATE_HINT}"
                    )
                return (start + shift).astimezone(UTC)
            raise JqlError(f"Unable to find JQL function '{operand.text}()'.")
        text = operand.text.strip()
        period = _period(text)
        if period is not None:
            self.volatile = True
            return self.now + period
        for pattern in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
            try:
                naive = datetime.strptime(text, pattern)
            except ValueError:
                continue
            # Wall-clock time in the user's zone (fold=0 for an ambiguous hour), then the instant in UTC.
            return naive.replace(tzinfo=zone).astimezone(UTC)
        raise JqlError(f"Date value '{operand.text}' for field '{field_name}' is invalid. {_DATE_HINT}")

    def sort_key(self, order: tuple[tuple[str, bool], ...]) -> SortKey:
        ranks = {key: rank for rank, key in enumerate(sorted(self.data.projects))}
        parts: list[Callable[[Issue], tuple[int, ...]]] = []
        seen_id = False
        if not order:
            order = (("created", True), ("id", True))  # Jira's default when a query has no ORDER BY
        for raw_name, descending in order:
            name = _FIELD_ALIASES.get(raw_name, raw_name)
            if name not in _ORDERABLE:
                if name in _KNOWN_FIELDS:
                    raise JqlError(f"Not able to sort using field '{raw_name}'.")
                raise JqlError(f"Field '{raw_name}' does not exist or you do not have permission to view it.")
            sign = -1 if descending else 1
            seen_id = seen_id or name == "id"
            parts.append(_order_part(name, sign, ranks))
        if not seen_id:
            parts.append(lambda issue: (issue.id,))  # a total order keeps keyset paging exact
        return lambda issue: tuple(value for part in parts for value in part(issue))


def _order_part(name: str, sign: int, ranks: dict[str, int]) -> Callable[[Issue], tuple[int, ...]]:
    if name == "id":
        return lambda issue: (sign * issue.id,)
    if name == "key":
        return lambda issue: (sign * ranks.get(issue.project_key, 0), sign * int(issue.key.rsplit("-", 1)[1]))
    if name == "resolved":  # unresolved issues sort last ascending, as Jira puts EMPTY last
        return lambda issue: (sign * (epoch_ms(issue.resolved) if issue.resolved else 2**53),)
    return lambda issue: (sign * epoch_ms(getattr(issue, name)),)


_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


def _period(text: str) -> timedelta | None:
    """``-15m``, ``-2h``, ``-1d``, ``4w 2d``: an offset from now (the sign applies to the whole period)."""
    match = _PERIOD.match(text.strip())
    if not match:
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _PERIOD_PART.findall(match.group(2)))
    return timedelta(seconds=-seconds if match.group(1) == "-" else seconds)


def _match(
    operator: str, getter: Callable[[Issue], object], values: set[object], *, multi: bool
) -> Predicate:
    wants_empty = None in values
    wanted = values - {None}

    def state(issue: Issue) -> tuple[bool, bool]:  # (holds a wanted value, is empty)
        value = getter(issue)
        if multi:
            items = value if isinstance(value, list) else []
            return bool(wanted.intersection(items)), not items
        return value in wanted, value is None

    if operator in ("=", "in", "is"):

        def positive(issue: Issue) -> bool:
            hit, empty = state(issue)
            return hit or (wants_empty and empty)

        return positive

    def negative(issue: Issue) -> bool:
        # As in Jira, an empty field never satisfies a negative clause: `assignee != X` skips unassigned.
        hit, empty = state(issue)
        return not hit and not empty

    return negative


def _compare(operator: str, getter: Callable[[Issue], int | None], bound: int) -> Predicate:
    tests: dict[str, Callable[[int], bool]] = {
        ">": lambda v: v > bound,
        ">=": lambda v: v >= bound,
        "<": lambda v: v < bound,
        "<=": lambda v: v <= bound,
    }
    test = tests[operator]

    def predicate(issue: Issue) -> bool:
        value = getter(issue)
        return value is not None and test(value)

    return predicate


def compile_jql(text: str, data: FakeData) -> CompiledQuery:
    """Parse and compile ``text`` against ``data`` (call with ``data.lock`` held)."""
    return _Compiler(data).compile(parse(text))
