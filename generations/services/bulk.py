"""Acting on many gallery images at once: star, add to a board, change visibility, delete.

Each image goes through the same service as its single action (``generation_star_set``,
``board_item_add``, ``generation_visibility_set``, ``generation_delete``), so the same checks
apply to each: an image the user may not change is skipped, counted, and left as it was. One
audit event records the whole action, with the ids it changed and those it skipped.

Stars, visibility and deletion belong to a generation, not to one image: selecting two images
of one generation stars (or deletes) that generation once.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import User
from accounts.services.audit import audit_record
from generations.catalog import SpecError
from generations.models import Board, Generation, OutputImage
from generations.selectors.generations import outputs_get_visible
from generations.services.boards import board_item_add, generation_star_set
from generations.services.lifecycle import generation_delete
from generations.services.visibility import generation_visibility_set
from studio_core.errors import ServiceError

BULK_STAR = "star"
BULK_UNSTAR = "unstar"
BULK_BOARD = "board"
BULK_VISIBILITY = "visibility"
BULK_DELETE = "delete"
BULK_ACTIONS = (BULK_STAR, BULK_UNSTAR, BULK_BOARD, BULK_VISIBILITY, BULK_DELETE)
# How many images one request may name: a full screen of selections, many times over.
BULK_MAX_IMAGES = 500


@dataclass
class BulkResult:
    action: str
    # Images asked for that the user may see (the rest are unknown to them: not reported).
    selected: int = 0
    changed_output_ids: list[int] = field(default_factory=list)
    # Skipped because they are someone else's (the user may look, not change).
    not_yours_output_ids: list[int] = field(default_factory=list)
    # Skipped for another reason (still running, already deleted); the first reason.
    refused_output_ids: list[int] = field(default_factory=list)
    refused_reason: str = ""

    @property
    def skipped(self) -> int:
        return len(self.not_yours_output_ids) + len(self.refused_output_ids)


def outputs_bulk_apply(
    *,
    user: User,
    output_ids: Iterable[int],
    action: str,
    board: Board | None = None,
    visibility: str = "",
    ip_address: str | None = None,
) -> BulkResult:
    """Apply ``action`` to each image of ``output_ids`` ``user`` may see; see the module.

    ``board`` is the board for ``BULK_BOARD`` (the user's own: ``board_item_add`` checks),
    ``visibility`` the new visibility for ``BULK_VISIBILITY``.
    """
    if action not in BULK_ACTIONS:
        raise SpecError({"action": [f"Choose one of: {', '.join(BULK_ACTIONS)}."]})
    if action == BULK_BOARD and board is None:
        raise SpecError({"board": ["Choose the board to add the images to."]})
    if action == BULK_BOARD and board is not None and board.owner_id != user.pk:
        raise PermissionDenied("Only the board's owner can add to it.")
    if action == BULK_VISIBILITY and visibility not in Generation.Visibility.values:
        raise SpecError({"visibility": ["Choose who may see the images."]})
    ids = list(dict.fromkeys(output_ids))[:BULK_MAX_IMAGES]
    visible = outputs_get_visible(user=user, output_ids=ids)
    result = BulkResult(action=action, selected=len(visible))
    outcome_of_generation: dict[str, str] = {}
    for output_id in ids:
        output = visible.get(output_id)
        if output is None:
            continue
        outcome = outcome_of_generation.get(str(output.generation_id))
        if outcome is None or action == BULK_BOARD:
            outcome = _apply_one(
                user=user,
                output=output,
                action=action,
                board=board,
                visibility=visibility,
                result=result,
            )
            outcome_of_generation[str(output.generation_id)] = outcome
        if outcome == "changed":
            result.changed_output_ids.append(output_id)
        elif outcome == "not_yours":
            result.not_yours_output_ids.append(output_id)
        else:
            result.refused_output_ids.append(output_id)
    if result.selected:
        audit_record(
            actor=user,
            action=f"generations.bulk_{action}",
            target=board if action == BULK_BOARD and board is not None else user,
            after={
                "output_ids": result.changed_output_ids,
                "generation_ids": sorted(
                    {
                        str(visible[output_id].generation_id)
                        for output_id in result.changed_output_ids
                    }
                ),
                "skipped_output_ids": result.not_yours_output_ids + result.refused_output_ids,
                **({"visibility": visibility} if action == BULK_VISIBILITY else {}),
            },
            ip_address=ip_address,
        )
    return result


def _apply_one(
    *,
    user: User,
    output: OutputImage,
    action: str,
    board: Board | None,
    visibility: str,
    result: BulkResult,
) -> str:
    """One image's part of the action: "changed", "not_yours" or "refused"."""
    generation = output.generation
    try:
        # A savepoint each: one refusal must not undo the images already changed.
        with transaction.atomic():
            if action in (BULK_STAR, BULK_UNSTAR):
                generation_star_set(generation=generation, user=user, starred=action == BULK_STAR)
            elif action == BULK_BOARD:
                assert board is not None
                board_item_add(board=board, user=user, generation=generation, output=output)
            elif action == BULK_VISIBILITY:
                generation_visibility_set(generation=generation, user=user, visibility=visibility)
            else:
                generation_delete(generation=generation, user=user)
    except PermissionDenied:
        return "not_yours"
    except ServiceError as error:
        result.refused_reason = result.refused_reason or str(error)
        return "refused"
    return "changed"
