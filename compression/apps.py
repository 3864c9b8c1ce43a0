from django.apps import AppConfig


class CompressionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "compression"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from . import checks, login_guard  # noqa: F401 (checks registers itself)

        user_login_failed.connect(login_guard.on_login_failed, dispatch_uid="compression.login_guard")
