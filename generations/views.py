"""Pages of the workspace, split by area under ``generations.pages``; this module keeps the
names other code and older imports use."""

from .pages.boards import (
    board_delete_view,
    board_detail,
    board_item_add_view,
    board_item_remove_view,
    board_update_view,
    boards_index,
)
from .pages.compose import compose_quote, generation_cancel_view, generation_card, workspace
from .pages.detail import (
    generation_delete_view,
    generation_detail,
    generation_star,
    generation_visibility,
)
from .pages.files import (
    generation_zip,
    media_reference_signed,
    media_signed,
    output_file,
    reference_file,
)
from .pages.gallery import gallery

__all__ = [
    "board_delete_view",
    "board_detail",
    "board_item_add_view",
    "board_item_remove_view",
    "board_update_view",
    "boards_index",
    "compose_quote",
    "gallery",
    "generation_cancel_view",
    "generation_card",
    "generation_delete_view",
    "generation_detail",
    "generation_star",
    "generation_visibility",
    "generation_zip",
    "media_reference_signed",
    "media_signed",
    "output_file",
    "reference_file",
    "workspace",
]
