"""notifications depends on nothing but Django and core: every other app may change without breaking it."""

from __future__ import annotations

import ast
from pathlib import Path

import notifications

FORBIDDEN = ("sync", "telemetry", "orchestration")


def test_notifications_imports_nothing_from_sync_telemetry_or_orchestration():
    root = Path(notifications.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
