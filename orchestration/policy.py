"""Pure rules of the workflow: which phase follows which, and when a failed attempt runs again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings

from orchestration.models import Phase

ORDER = [Phase.EXPLORE, Phase.PLAN, Phase.CODE, Phase.TEST, Phase.DOCUMENT]


@dataclass(frozen=True)
class Next:
    """What follows a finished phase: another phase, success, or failure with a code."""

    phase: str | None = None
    done: bool = False
    error_code: str = ""
    uses_fix_attempt: bool = False


def next_after(phase: str, *, success: bool, fix_attempts: int, max_fix_attempts: int) -> Next:
    """EXPLORE → PLAN → CODE → TEST → DOCUMENT; a failed TEST goes to FIX and FIX back to TEST."""
    if phase == Phase.TEST and not success:
        if fix_attempts >= max_fix_attempts:
            return Next(error_code="FIX_ATTEMPTS_EXHAUSTED")
        return Next(phase=Phase.FIX, uses_fix_attempt=True)
    if not success:
        return Next(error_code="PHASE_FAILED")
    if phase == Phase.FIX:
        return Next(phase=Phase.TEST)
    if phase == Phase.DOCUMENT:
        return Next(done=True)
    return Next(phase=ORDER[ORDER.index(Phase(phase)) + 1])


@dataclass(frozen=True)
class PhasePolicy:
    """Temporal-style retry policy plus the start-to-close timeout of one attempt."""

    max_attempts: int = 3
    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    max_interval: float = 100.0
    timeout: float = 900.0

    def delay_after(self, attempt: int) -> timedelta:
        """Back-off before attempt ``attempt + 1``: initial * coefficient^(attempt-1), capped."""
        seconds = self.initial_interval * self.backoff_coefficient ** max(0, attempt - 1)
        return timedelta(seconds=min(seconds, self.max_interval))


_FIELDS = set(PhasePolicy.__dataclass_fields__)


def policy_for(phase: str) -> PhasePolicy:
    """Settings' default policy, overridden per phase by ``ORCHESTRATION_PHASE_POLICIES[phase]``."""
    values: dict[str, Any] = {**settings.ORCHESTRATION_RETRY_POLICY}
    values.update(settings.ORCHESTRATION_PHASE_POLICIES.get(phase, {}))
    unknown = set(values) - _FIELDS
    if unknown:
        raise ValueError(f"Unknown phase policy fields {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    return PhasePolicy(**values)
