"""Test settings: the suite's defaults for the environment, set before the project settings read it.

Child processes (Celery workers, beat) inherit these variables, so they see the same database and broker.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiraplus")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
os.environ.setdefault("JIRAPLUS_SECRET_KEYS", "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LTMyYmI=")
os.environ.setdefault("JIRAPLUS_ALLOW_PRIVATE_JIRA", "true")  # the fake Jira listens on loopback
os.environ.setdefault("JIRAPLUS_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from jiraplus.settings import *  # noqa: F403
