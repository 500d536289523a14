"""``manage.py check`` (and every server start) reports a malformed ladder or threshold setting by name,
instead of the analyser failing on it every minute."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def telemetry_settings(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    from telemetry.services import policy_from_settings

    try:
        policy_from_settings()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), hint="See docs/telemetry.md", id="telemetry.E001")]
    return []
