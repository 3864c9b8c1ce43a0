from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The logged-in web dashboard: upload, tune, job pages, history (views, forms, charts)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboard"
