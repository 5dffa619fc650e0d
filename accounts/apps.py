from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # signals: connects the failed-login audit and the sign-in throttle's count. tasks:
        # registers the tasks with Celery in every process, so services send them by name
        # (accounts.services.invitations) without importing the module that imports them.
        from . import signals, tasks  # noqa: F401
