from django.db import models


class StoredImage(models.Model):
    """An image file in our storage with the facts read from its bytes."""

    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=16, help_text="jpeg, png, webp …")
    bytes = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class ReferenceImage(StoredImage):
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="references"
    )
    position = models.PositiveSmallIntegerField()
    source_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "position"], name="reference_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"reference {self.position} of {self.generation_id}"


class OutputImage(StoredImage):
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="outputs"
    )
    index = models.PositiveSmallIntegerField(help_text="Position in the provider's group.")
    thumbnail = models.FileField(max_length=255)
    provider_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["index"]
        constraints = [
            # A re-run task can never store the same image of a group twice.
            models.UniqueConstraint(fields=["generation", "index"], name="output_unique_index")
        ]
        indexes = [
            # The gallery's view of images: newest first, a page after a (created_at, id) cursor.
            models.Index(fields=["-created_at", "-id"], name="output_newest_first")
        ]

    def __str__(self) -> str:
        return f"image {self.index} of {self.generation_id}"
