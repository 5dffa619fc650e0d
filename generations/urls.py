from django.urls import path

# Registers the <row_id:…> converter the routes below use.
from studio_core import converters  # noqa: F401

from . import views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("quote/", views.compose_quote, name="compose-quote"),
    path("gallery/", views.gallery, name="gallery"),
    path("generations/<uuid:generation_id>/", views.generation_detail, name="generation-detail"),
    path("generations/<uuid:generation_id>/card/", views.generation_card, name="generation-card"),
    path(
        "generations/<uuid:generation_id>/cancel/",
        views.generation_cancel_view,
        name="generation-cancel",
    ),
    path("generations/<uuid:generation_id>/star/", views.generation_star, name="generation-star"),
    path(
        "generations/<uuid:generation_id>/visibility/",
        views.generation_visibility,
        name="generation-visibility",
    ),
    path(
        "generations/<uuid:generation_id>/delete/",
        views.generation_delete_view,
        name="generation-delete",
    ),
    path(
        "generations/<uuid:generation_id>/images.zip",
        views.generation_zip,
        name="generation-zip",
    ),
    path(
        "generations/<uuid:generation_id>/boards/",
        views.board_item_add_view,
        name="board-item-add",
    ),
    path("images/<row_id:output_id>/", views.output_file, {"variant": "full"}, name="output-file"),
    path(
        "images/<row_id:output_id>/thumbnail/",
        views.output_file,
        {"variant": "thumbnail"},
        name="output-thumbnail",
    ),
    path("references/<row_id:reference_id>/", views.reference_file, name="reference-file"),
    path("boards/", views.boards_index, name="boards"),
    path("boards/<row_id:board_id>/", views.board_detail, name="board-detail"),
    path("boards/<row_id:board_id>/edit/", views.board_update_view, name="board-update"),
    path("boards/<row_id:board_id>/delete/", views.board_delete_view, name="board-delete"),
    path(
        "boards/items/<row_id:item_id>/remove/",
        views.board_item_remove_view,
        name="board-item-remove",
    ),
    # Signed, expiring links for clients without a session (generations.media_links).
    path("media/o/<row_id:output_id>/<str:variant>", views.media_signed, name="media-signed"),
    path(
        "media/r/<row_id:reference_id>",
        views.media_reference_signed,
        name="media-reference-signed",
    ),
]
