from .attempt import ProviderAttempt
from .board import Board, BoardItem, Star
from .generation import Generation
from .images import OutputImage, ReferenceImage
from .provider_account import ProviderAccount
from .upload import Upload
from .webhook import WebhookDelivery

__all__ = [
    "Board",
    "BoardItem",
    "Generation",
    "OutputImage",
    "ProviderAccount",
    "ProviderAttempt",
    "ReferenceImage",
    "Star",
    "Upload",
    "WebhookDelivery",
]
