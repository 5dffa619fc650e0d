from .attempt import ProviderAttempt
from .generation import Generation
from .images import OutputImage, ReferenceImage
from .provider_account import ProviderAccount
from .upload import Upload
from .webhook import WebhookDelivery

__all__ = [
    "Generation",
    "OutputImage",
    "ProviderAccount",
    "ProviderAttempt",
    "ReferenceImage",
    "Upload",
    "WebhookDelivery",
]
