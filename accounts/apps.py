from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, API tokens, the login guard, and the sign-up, log-in and token pages."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from . import login_guard

        user_login_failed.connect(login_guard.on_login_failed, dispatch_uid="accounts.login_guard")
