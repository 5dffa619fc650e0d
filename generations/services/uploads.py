from accounts.models import User

from ..models import Upload
from .images import image_store, reference_check


def upload_create(*, user: User, content: bytes) -> Upload:
    """Store an image to use later as a reference, after the checks every reference gets.

    Raises ``ReferenceRejected`` naming the problem. The same bytes uploaded again by the same
    user answer the first upload (files are content-addressed, so nothing is stored twice).
    """
    facts = reference_check(content)
    existing = Upload.objects.filter(owner=user, sha256=facts.sha256).first()
    if existing is not None:
        return existing
    stored = image_store(content=content, folder="uploads", facts=facts)
    return Upload.objects.create(
        owner=user,
        file=stored.name,
        sha256=facts.sha256,
        width=facts.width,
        height=facts.height,
        format=facts.format,
        bytes=facts.bytes,
    )
