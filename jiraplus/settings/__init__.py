# ruff: noqa: I001
"""One settings package for both runtime profiles (``DJANGO_SETTINGS_MODULE=jiraplus.settings``).

Embedded default (nothing set): SQLite in WAL mode and a server-less filesystem broker under ``var/``.
Production: ``DATABASE_URL=postgres://...`` and ``CELERY_BROKER_URL=redis://...`` (``REDIS_URL`` for the
cache and the per-site Jira request budget). Every variable is listed in docs/configuration.md.

The parts are imported in this order because later ones read earlier ones (data reads base, beat reads the
apps' intervals); each part imports what it reads by name, so it can be read on its own.
"""

from jiraplus.settings.base import *  # noqa: F403
from jiraplus.settings.web import *  # noqa: F403
from jiraplus.settings.data import *  # noqa: F403
from jiraplus.settings.sync import *  # noqa: F403
from jiraplus.settings.celery import *  # noqa: F403
from jiraplus.settings.telemetry import *  # noqa: F403
from jiraplus.settings.apis import *  # noqa: F403
from jiraplus.settings.orchestration import *  # noqa: F403
from jiraplus.settings.notifications import *  # noqa: F403
from jiraplus.settings.ops import *  # noqa: F403
from jiraplus.settings.beat import *  # noqa: F403
