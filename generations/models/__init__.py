from .attempt import ProviderAttempt
from .generation import Generation
from .images import OutputImage, ReferenceImage
from .provider_account import ProviderAccount

__all__ = ["Generation", "OutputImage", "ProviderAccount", "ProviderAttempt", "ReferenceImage"]
