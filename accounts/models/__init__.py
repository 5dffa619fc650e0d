from .api_key import ApiKey
from .audit import AuditEvent
from .credits import CreditAccount, CreditEntry
from .invitation import Invitation
from .prices import ModelPrice
from .user import User
from .webhook_secret import WebhookSecret

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CreditAccount",
    "CreditEntry",
    "Invitation",
    "ModelPrice",
    "User",
    "WebhookSecret",
]
