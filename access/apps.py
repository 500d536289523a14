from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from access import logins  # connects the failed-sign-in counter

        admin.site.login_form = logins.ThrottledAdminAuthenticationForm
