from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "generations"
    verbose_name = "Generations"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        # Pillow's own decompression-bomb guard, at our limit, for every image opened anywhere.
        Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
        # tasks: registers the tasks with Celery in every process, so services send them by
        # name (generations.dispatch) without importing the module that imports them.
        # worker: connects the worker's signals (lease renewal, recovery sweeps, the
        # provider-call loop); they fire only in a Celery worker.
        from . import tasks, worker  # noqa: F401
