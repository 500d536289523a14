from __future__ import annotations

from django.conf import settings
from django.db import models

from sync.models.jira import JiraSite


class SiteAccess(models.Model):
    """A site a user who is not staff may see. A user without any row sees every site (as before
    tenancy); with rows, only those: every read and act through the APIs filters by them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_access")
    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="access")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="site_access_once")]
        verbose_name_plural = "site access"

    def __str__(self) -> str:
        return f"{self.user} → {self.site}"
