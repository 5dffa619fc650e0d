from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A teammate. Custom from the first migration so accounts can grow without a swap."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
