"""A user's uploaded reference images."""

from django.db.models import QuerySet

from accounts.models import User
from generations.models import Upload


def upload_list_owned(*, user: User) -> QuerySet[Upload]:
    return Upload.objects.filter(owner=user).order_by("-created_at")


def upload_get_owned(*, user: User, upload_id: str) -> Upload | None:
    """The upload only if ``user`` owns it, so another user's upload id reads as missing."""
    return Upload.objects.filter(owner=user, id=upload_id).first()
