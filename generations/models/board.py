"""Ways a teammate organises what the team made: stars (personal favourites) and boards
(named collections of whole generations or single images, private or shared with the team).

Neither ever widens who may see a generation: a shared board shows each viewer only the
items whose generation that viewer could already see (``generations.selectors``).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Star(models.Model):
    """A user's favourite generation; starring twice is the same star."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_stars"
    )
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="stars"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "generation"], name="star_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"star of {self.generation_id} by {self.user_id}"


class Board(models.Model):
    """A named collection owned by one user; ``team`` boards are listed for everyone."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        TEAM = "team", "Team"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards"
    )
    name = models.CharField(max_length=100)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="boards",
        help_text="With team visibility: the team it is shared with; empty: everyone here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["visibility", "name"])]
        constraints = [
            # "Moodboard" and "moodboard" in one person's list would only confuse them.
            models.UniqueConstraint(Lower("name"), "owner", name="board_unique_name_per_owner"),
            models.CheckConstraint(
                condition=models.Q(visibility__in=["private", "team"]),
                name="board_visibility_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.visibility == self.Visibility.TEAM


class BoardItem(models.Model):
    """A whole generation (``output`` empty) or one of its images, on a board."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="items")
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="board_items"
    )
    output = models.ForeignKey(
        "generations.OutputImage",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="board_items",
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            # Two partial constraints rather than one over a nullable column: NULLs are distinct
            # in a plain unique constraint, so the whole generation could be added twice.
            models.UniqueConstraint(
                fields=["board", "generation"],
                condition=models.Q(output__isnull=True),
                name="board_item_unique_generation",
            ),
            models.UniqueConstraint(
                fields=["board", "output"],
                condition=models.Q(output__isnull=False),
                name="board_item_unique_output",
            ),
        ]

    def __str__(self) -> str:
        what = f"image {self.output_id}" if self.output_id else f"generation {self.generation_id}"
        return f"{what} on board {self.board_id}"
