"""The agent protocol: what a phase's agent receives, what it returns, how it reports errors.

An agent is any object with a ``name`` and ``run(task, ctx) -> PhaseResult``; settings map each phase to
agents by dotted path (``ORCHESTRATION_AGENTS``). Agents may run more than once for the same phase
execution (a retry, or a takeover after a worker died): side effects must be keyed on
``task.idempotency_key``, which is the same for every attempt of that execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class AgentTask:
    orchestration_id: int
    phase: str
    iteration: int
    attempt: int
    idempotency_key: str
    issue: dict[str, Any]  # the issue's synced context (orchestration.selectors.issue_context)
    previous: dict[str, dict[str, Any]]  # phase -> outputs of its latest successful execution
    history: list[dict[str, Any]]  # every phase execution so far: phase, iteration, state, output


@dataclass
class PhaseResult:
    success: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # {"name", "path" or "content", ...}
    summary: str = ""
    input_tokens: int | None = None  # cost fields, when an agent reports them
    output_tokens: int | None = None
    cost_usd: Decimal | None = None


class AgentError(Exception):
    """An agent could not produce a result. ``code`` is stable and shown to operators."""

    transient = False
    code = "AGENT_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code


class TransientAgentError(AgentError):
    """Worth retrying with back-off (a timeout, a busy dependency)."""

    transient = True
    code = "AGENT_TRANSIENT"


class PermanentAgentError(AgentError):
    """Retrying will not help (bad configuration, invalid input): the phase fails."""

    code = "AGENT_PERMANENT"


class Cancelled(Exception):
    """Raised by ``AgentContext.heartbeat`` when the orchestration was cancelled or lost its lease."""


class AgentContext(Protocol):
    """What the engine lends an agent while it runs."""

    @property
    def deadline(self) -> datetime: ...

    def heartbeat(self, checkpoint: dict[str, Any] | None = None) -> None:
        """Renew the lease (and save ``checkpoint``); raises ``Cancelled`` when the agent must stop."""


@runtime_checkable
class Agent(Protocol):
    name: str

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult: ...


@cache
def _agent(path: str) -> Agent:
    factory = import_string(path)
    agent = factory() if isinstance(factory, type) else factory
    if not isinstance(agent, Agent):
        raise PermanentAgentError(f"{path} is not an agent (needs name and run())", code="AGENT_CONFIG")
    return agent


def agents_for(phase: str) -> list[Agent]:
    """The agents configured for ``phase``, built once per process."""
    paths = settings.ORCHESTRATION_AGENTS.get(phase) or []
    if not paths:
        raise PermanentAgentError(f"No agent is configured for {phase}", code="AGENT_CONFIG")
    try:
        return [_agent(path) for path in paths]
    except ImportError as problem:
        raise PermanentAgentError(
            f"Cannot load an agent for {phase}: {problem}", code="AGENT_CONFIG"
        ) from None
