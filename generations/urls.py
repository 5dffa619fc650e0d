from django.urls import path

from . import views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("quote/", views.compose_quote, name="compose-quote"),
    path("generations/<uuid:generation_id>/", views.generation_detail, name="generation-detail"),
    path("generations/<uuid:generation_id>/card/", views.generation_card, name="generation-card"),
    path("images/<int:output_id>/", views.output_file, {"variant": "full"}, name="output-file"),
    path(
        "images/<int:output_id>/thumbnail/",
        views.output_file,
        {"variant": "thumbnail"},
        name="output-thumbnail",
    ),
    # Signed, expiring links for clients without a session (generations.media_links).
    path("media/o/<int:output_id>/<str:variant>", views.media_signed, name="media-signed"),
]
