"""Keep secrets out of logs and error reports.

Two layers: known secret values (every Jira token the process decrypts registers itself here) are replaced
wherever they appear, and patterns catch credentials we were never told about (Authorization headers,
``token=...`` pairs).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
_MIN_SECRET_LENGTH = 6
_secrets: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:api[_-]?token|access[_-]?token|token|password|secret|pat)['\"]?\s*[:=]\s*['\"]?)"
        r"[^\s'\",&}]+"
    ),
]
_SENSITIVE_KEYS = re.compile(r"(?i)authorization|token|password|secret|api[_-]?key|cookie")


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later log line or report containing it is scrubbed."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text


def redact_data(value: Any) -> Any:
    """Scrub a JSON-like structure: sensitive keys lose their values, strings are redacted."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _SENSITIVE_KEYS.search(k) else redact_data(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


class RedactSecretsFilter(logging.Filter):
    """Logging filter that renders the message once, scrubs it, and drops the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the log line
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
