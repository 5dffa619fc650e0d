from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "generations"
    verbose_name = "Generations"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from accounts.ledger import register_terminal_statuses
        from accounts.services.model_names import register_model_names
        from accounts.services.pricing import register_priceable_models
        from generations.catalog import list_models
        from generations.models import Generation

        # What accounts needs to know of generations, told here (it does not import them):
        # which generations hold nothing any more, which models a price can be set for, and the
        # models' names.
        register_terminal_statuses(Generation.TERMINAL_STATUSES)
        register_priceable_models(
            (model.id, f"{model.label} ({model.id})") for model in list_models()
        )
        # Policy refusals and price messages name a model as the pages do, not by its id.
        register_model_names((model.id, model.label) for model in list_models())

        # Pillow's own decompression-bomb guard, at our limit, for every image opened anywhere.
        Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
        # tasks: registers the tasks with Celery in every process, so services send them by
        # name (generations.runtime.dispatch) without importing the module that imports them.
        # tasks.worker: connects the worker's signals (lease renewal, recovery sweeps, the
        # provider-call loop); they fire only in a Celery worker.
        from generations import tasks  # noqa: F401
        from generations.tasks import worker  # noqa: F401
