"""Settings of the unit layer (``make test-unit``): the embedded profile, so no server is needed.

Unit tests touch no database, cache or broker; these settings exist so Django and the apps import.
"""

import os

for variable in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
    os.environ[variable] = ""  # the embedded defaults: SQLite, a file cache, the filesystem broker
os.environ.setdefault("JIRAPLUS_SECRET_KEYS", "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LTMyYmI=")
os.environ.setdefault("JIRAPLUS_ALLOW_PRIVATE_JIRA", "true")
os.environ.setdefault("JIRAPLUS_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test-unit"))

from jiraplus.settings import *  # noqa: E402, F403
