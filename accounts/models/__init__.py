from .api_key import ApiKey
from .audit import AuditEvent
from .budget import Allowance, Budget, BudgetAlert, BudgetHold, BudgetSpend, Period
from .credits import CreditAccount, CreditEntry
from .invitation import Invitation
from .prices import ModelPrice
from .team import Membership, Team
from .user import User
from .webhook_secret import WebhookSecret

__all__ = [
    "Allowance",
    "ApiKey",
    "AuditEvent",
    "Budget",
    "BudgetAlert",
    "BudgetHold",
    "BudgetSpend",
    "CreditAccount",
    "CreditEntry",
    "Invitation",
    "Membership",
    "ModelPrice",
    "Period",
    "Team",
    "User",
    "WebhookSecret",
]
