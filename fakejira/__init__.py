"""The project's own fake Jira: a real HTTP server over a seeded, mutable data set, with fault injection.

Usage::

    with FakeJira(FakeDataConfig(seed=1, projects={"ALPHA": 300})) as fake:
        client = make_client(fake.base_url, fake.email, fake.api_token)  # Basic auth on Cloud
        fake.add_fault(Fault(kind="rate_limit", path="search/jql", retry_after=2))
        fake.data.update_issue("ALPHA-1", summary="Changed")  # then sync again and compare fake.data.export()
"""

from fakejira.data import FakeData
from fakejira.faults import Fault
from fakejira.model import FakeDataConfig
from fakejira.server import FakeJira, RequestRecord

__all__ = ["FakeData", "FakeDataConfig", "FakeJira", "Fault", "RequestRecord"]
