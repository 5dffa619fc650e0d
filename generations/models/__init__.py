from .attempt import ProviderAttempt
from .board import Board, BoardItem, Star
from .generation import Generation
from .health_rollup import ProviderHealthRollup, ProviderHealthRollupProgress
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
    "ProviderHealthRollup",
    "ProviderHealthRollupProgress",
    "ReferenceImage",
    "Star",
    "Upload",
    "WebhookDelivery",
]
