"""The back-off rules as pure functions: what one finished run does to a project's failure episode.

No database here (fire times come from the sync schedules' cron clock): ``advance`` takes the state and a
run's outcome and returns the new state and what to do about it (climb, alert, recover); the service
applies that. Rules (docs/telemetry.md):

- An episode is a stretch of consecutive failed runs with the same error code; another code starts a new
  episode (the back-off level is kept: the project is still failing).
- ``threshold(code)`` consecutive failures alert once and climb one rung; every further failure of the
  episode climbs one more rung, without another alert.
- A rate limit's Retry-After is honoured first: when the current schedule would fire before Jira allows
  another call, the project climbs at once to the first rung that waits long enough.
- The first successful run ends the episode: the operator's cron comes back, and a recovery notice goes
  out if the episode had alerted or backed off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from croniter import croniter

from core.codes import code_canonical
from sync.jira.error_codes import JiraErrorCode
from sync.services.schedules import cron_next_fire

RATE_LIMIT = str(JiraErrorCode.RATE_LIMIT)
_INTERVAL_SAMPLES = 8


@dataclass(frozen=True)
class Policy:
    ladder: Sequence[str]  # rung crons, rung 1 first
    default_threshold: int = 3
    thresholds: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # An operator's old code name (RATE_LIMITED=5) sets the threshold of the code it was renamed to.
        object.__setattr__(self, "thresholds", {code_canonical(c): n for c, n in self.thresholds.items()})

    def threshold(self, code: str) -> int:
        return max(1, self.thresholds.get(code_canonical(code), self.default_threshold))


@dataclass(frozen=True)
class Outcome:
    """A terminal run as telemetry sees it: classified code, never log text."""

    run_id: int
    succeeded: bool
    finished_at: datetime
    code: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Episode:
    level: int = 0
    category: str = ""
    failures: int = 0
    first_run_id: int | None = None
    started_at: datetime | None = None
    last_failure_at: datetime | None = None
    alerted: bool = False

    @property
    def open(self) -> bool:
        return self.failures > 0


@dataclass(frozen=True)
class Schedule:
    """The project's schedule as the ladder needs it."""

    cron: str  # the operator's
    effective_cron: str  # "" when not backed off
    time_zone: str = "UTC"

    @property
    def active_cron(self) -> str:
        """What the project runs on now, as ``SyncJob.active_cron``."""
        return self.effective_cron or self.cron


@dataclass(frozen=True)
class Climb:
    level: int
    cron: str | None  # None: no rung is slower than the operator's cron, which stays
    reason: str


@dataclass(frozen=True)
class Alert:
    episode: Episode


@dataclass(frozen=True)
class Recover:
    episode: Episode  # the episode that ended, as it stood before the success


Action = Climb | Alert | Recover


def advance(
    episode: Episode, outcome: Outcome, *, policy: Policy, schedule: Schedule
) -> tuple[Episode, list[Action]]:
    if outcome.succeeded:
        if not episode.open and episode.level == 0:
            return episode, []
        actions: list[Action] = []
        if episode.level > 0 or episode.alerted:
            actions.append(Recover(episode))
        return Episode(), actions

    if outcome.code == episode.category and episode.open:
        episode = replace(episode, failures=episode.failures + 1, last_failure_at=outcome.finished_at)
    else:
        episode = Episode(
            level=episode.level,
            category=outcome.code,
            failures=1,
            first_run_id=outcome.run_id,
            started_at=outcome.finished_at,
            last_failure_at=outcome.finished_at,
        )

    actions = []
    target = episode.level
    reason = ""
    if episode.failures >= policy.threshold(episode.category):
        target = episode.level + 1
        reason = (
            f"{episode.failures} consecutive {episode.category} failures"
            if episode.failures > 1
            else f"{episode.category} failure (threshold 1)"
        )
    not_before = None
    if outcome.code == RATE_LIMIT and outcome.retry_after is not None:
        not_before = outcome.finished_at + timedelta(seconds=outcome.retry_after)
        current = schedule.active_cron
        if (
            target == episode.level
            and cron_next_fire(expression=current, after=outcome.finished_at, time_zone=schedule.time_zone)
            < not_before
        ):
            target = episode.level + 1
            reason = f"Jira asked to wait {outcome.retry_after:.0f}s (Retry-After)"
    if target > episode.level and episode.level < len(policy.ladder):
        level, cron = choose_rung(
            policy.ladder, schedule, minimum=target, not_before=not_before, now=outcome.finished_at
        )
        if not_before is not None and reason and "Retry-After" not in reason:
            reason += f"; Retry-After {outcome.retry_after:.0f}s honoured"
        episode = replace(episode, level=level)
        actions.append(Climb(level=level, cron=cron, reason=reason))
    if episode.failures >= policy.threshold(episode.category) and not episode.alerted:
        episode = replace(episode, alerted=True)
        actions.insert(0, Alert(episode))
    return episode, actions


def choose_rung(
    ladder: Sequence[str],
    schedule: Schedule,
    *,
    minimum: int,
    not_before: datetime | None,
    now: datetime,
) -> tuple[int, str | None]:
    """The lowest rung at or above ``minimum`` that is slower than the operator's cron and, for a
    Retry-After, first fires after ``not_before``; the top rung when none qualifies.

    Backing off must never speed a project up: a rung no slower than the operator's cron is skipped, and
    when every rung is, the level still rises but the operator's cron stays (``None``).
    """
    minimum = min(minimum, len(ladder))
    base = mean_interval(schedule.cron, now, schedule.time_zone)
    slower = [
        level
        for level in range(1, len(ladder) + 1)
        if mean_interval(ladder[level - 1], now, schedule.time_zone) > base
    ]
    if not slower:
        return minimum, None
    for level in slower:
        if level < minimum:
            continue
        cron = ladder[level - 1]
        if (
            not_before is None
            or cron_next_fire(expression=cron, after=now, time_zone=schedule.time_zone) >= not_before
        ):
            return level, cron
    top = max(slower[-1], minimum)
    return top, ladder[slower[-1] - 1]


def mean_interval(cron: str, after: datetime, time_zone: str) -> timedelta:
    """Average gap between the next fires: how often a cron runs, even when its gaps differ."""
    iterator = croniter(cron, after.astimezone(ZoneInfo(time_zone)))
    fires = [iterator.get_next(datetime) for _ in range(_INTERVAL_SAMPLES + 1)]
    return (fires[-1] - fires[0]) / _INTERVAL_SAMPLES


def slow_jira_latency(jira_ms: int, requests: int, *, threshold_ms: int) -> int | None:
    """The mean wait per Jira request when it is above the threshold (Jira itself is slow), else None."""
    if requests <= 0:
        return None
    mean = jira_ms // requests
    return mean if mean > threshold_ms else None


def slow_median(
    duration_ms: int, previous_ms: Sequence[int], *, factor: float, min_runs: int, min_ms: int
) -> int | None:
    """The p50 the run is compared with when it is slow, None when it is not (or too little history)."""
    if len(previous_ms) < min_runs or duration_ms < min_ms:
        return None
    p50 = int(median(previous_ms))
    return p50 if duration_ms > factor * p50 else None
