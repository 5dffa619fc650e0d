from django.urls import path

from . import views

urlpatterns = [
    path("images/generations", views.ImagesGenerationsApi.as_view(), name="openai-images"),
    path("images/edits", views.ImagesEditsApi.as_view(), name="openai-edits"),
    path("models", views.ModelsApi.as_view(), name="openai-models"),
]
