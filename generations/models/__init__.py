from generations.models.attempt import ProviderAttempt
from generations.models.board import Board, BoardItem, Star
from generations.models.comparison import Comparison, ComparisonEntry
from generations.models.generation import Generation
from generations.models.health_rollup import ProviderHealthRollup, ProviderHealthRollupProgress
from generations.models.images import OutputImage, ReferenceImage
from generations.models.provider_account import ProviderAccount
from generations.models.upload import Upload
from generations.models.webhook import WebhookDelivery

__all__ = [
    "Board",
    "BoardItem",
    "Comparison",
    "ComparisonEntry",
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
