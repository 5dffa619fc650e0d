from django.urls import path

from generations.pages import (
    boards,
    comparisons,
    compose,
    detail,
    files,
    gallery,
    gallery_bulk,
    prompts,
    teams,
)

# Registers the <row_id:…> converter the routes below use.
from studio_core import converters  # noqa: F401

urlpatterns = [
    path("", compose.workspace, name="workspace"),
    path("quote/", compose.compose_quote, name="compose-quote"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("generations/<uuid:generation_id>/", detail.generation_detail, name="generation-detail"),
    path("generations/<uuid:generation_id>/card/", compose.generation_card, name="generation-card"),
    path(
        "generations/<uuid:generation_id>/cancel/",
        compose.generation_cancel_view,
        name="generation-cancel",
    ),
    path("generations/<uuid:generation_id>/star/", detail.generation_star, name="generation-star"),
    path(
        "generations/<uuid:generation_id>/visibility/",
        detail.generation_visibility,
        name="generation-visibility",
    ),
    path(
        "generations/<uuid:generation_id>/delete/",
        detail.generation_delete_view,
        name="generation-delete",
    ),
    path(
        "generations/<uuid:generation_id>/images.zip",
        files.generation_zip,
        name="generation-zip",
    ),
    path(
        "generations/<uuid:generation_id>/boards/",
        boards.board_item_add_view,
        name="board-item-add",
    ),
    path("images/<row_id:output_id>/", files.output_file, {"variant": "full"}, name="output-file"),
    path(
        "images/<row_id:output_id>/thumbnail/",
        files.output_file,
        {"variant": "thumbnail"},
        name="output-thumbnail",
    ),
    path(
        "images/<row_id:output_id>/preview-<int:width>.webp",
        files.output_preview,
        name="output-preview",
    ),
    path("gallery/bulk/", gallery_bulk.gallery_bulk, name="gallery-bulk"),
    path("references/<row_id:reference_id>/", files.reference_file, name="reference-file"),
    path("boards/", boards.boards_index, name="boards"),
    path("boards/<row_id:board_id>/", boards.board_detail, name="board-detail"),
    path("boards/<row_id:board_id>/edit/", boards.board_update_view, name="board-update"),
    path("boards/<row_id:board_id>/delete/", boards.board_delete_view, name="board-delete"),
    path(
        "boards/items/<row_id:item_id>/remove/",
        boards.board_item_remove_view,
        name="board-item-remove",
    ),
    path("compare/new/", comparisons.comparison_new, name="comparison-new"),
    path(
        "comparisons/<uuid:comparison_id>/",
        comparisons.comparison_detail,
        name="comparison-detail",
    ),
    path(
        "comparisons/<uuid:comparison_id>/columns/",
        comparisons.comparison_columns_view,
        name="comparison-columns",
    ),
    path(
        "comparisons/<uuid:comparison_id>/visibility/",
        comparisons.comparison_visibility_view,
        name="comparison-visibility",
    ),
    path("prompts/", prompts.prompt_history_page, name="prompt-history"),
    path("teams/", teams.teams_index, name="teams"),
    path("teams/<slug:slug>/", teams.team_detail, name="team-detail"),
    path("teams/<slug:slug>/spending.csv", teams.team_spending_csv, name="team-spending-csv"),
    path("teams/<slug:slug>/members/", teams.team_member_add_view, name="team-member-add"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/role/",
        teams.team_member_role_view,
        name="team-member-role",
    ),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/",
        teams.team_member_remove_view,
        name="team-member-remove",
    ),
    path(
        "teams/<slug:slug>/members/<int:user_id>/budget/",
        teams.team_member_budget_view,
        name="team-member-budget",
    ),
    path("teams/<slug:slug>/budget/", teams.team_budget_view, name="team-budget"),
    path("teams/<slug:slug>/policy/", teams.team_policy_view, name="team-policy"),
    path("teams/<slug:slug>/webhook/", teams.team_webhook_view, name="team-webhook"),
    path(
        "teams/<slug:slug>/webhook/secret/",
        teams.team_webhook_secret_view,
        name="team-webhook-secret",
    ),
    # Signed, expiring links for clients without a session (generations.security.signed_links).
    path("media/o/<row_id:output_id>/<str:variant>", files.media_signed, name="media-signed"),
    path(
        "media/r/<row_id:reference_id>",
        files.media_reference_signed,
        name="media-reference-signed",
    ),
]
