from django.urls import path

from generations.openai_compat import views

urlpatterns = [
    path("images/generations", views.images_generations, name="openai-images"),
    path("images/edits", views.images_edits, name="openai-edits"),
    path("models", views.models, name="openai-models"),
]
