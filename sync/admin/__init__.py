"""Operators' view of sites, projects and the sync trail. Tokens are write-only and never rendered.

Every control here (actions, reschedule, tracked users, test connection) parses input, checks
``can_operate_sync`` and calls the service (sync.services.controls / sites); errors are the service's.
Django's admin autodiscovery imports this package; importing the modules registers their admins.
"""

from sync.admin import jobs, projects, sites, trail

__all__ = ["jobs", "projects", "sites", "trail"]
