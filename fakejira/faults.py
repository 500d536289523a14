"""Injected failures: what a flaky network, an overloaded or suspended site look like to a client."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {
        "rate_limit",
        "server_error",
        "service_unavailable",
        "bad_gateway",
        "gateway_timeout",
        "slow",
        "drop",
        "truncate",
        "expired_token",
        "suspended_payment",
        "suspended_inactivity",
        "deactivated",
        "custom",
    }
)


@dataclass
class Fault:
    kind: str
    path: str = ".*"  # regex searched in the request path (without the query string)
    method: str | None = None
    times: int | None = 1  # None: until cleared
    after: int = 0  # let the first N matching requests through
    retry_after: float | None = None
    delay: float = 0.0
    status: int | None = None
    body: str | None = None
    headers: dict[str, str] | None = None
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _seen: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        self._pattern = re.compile(self.path)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Fault:
        known = {
            "kind",
            "path",
            "method",
            "times",
            "after",
            "retry_after",
            "delay",
            "status",
            "body",
            "headers",
        }
        unknown = set(payload) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        return cls(**payload)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self._pattern.search(path) is not None


class FaultBook:
    """The active faults, consulted in insertion order; the first one that fires answers the request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that fires for this request, if any, counting it against its `after` and `times`."""
        with self._lock:
            for fault in list(self._faults):
                if fault.times is not None and fault.times <= 0:
                    self._faults.remove(fault)
                    continue
                if not fault.matches(method, path):
                    continue
                fault._seen += 1
                if fault._seen <= fault.after:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
            return None
