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
        # Registers the tasks with Celery in every process, so services send them by name
        # (generations.dispatch) without importing the module that imports them.
        from . import tasks  # noqa: F401
