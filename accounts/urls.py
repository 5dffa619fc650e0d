from django.urls import path

from . import views

urlpatterns = [
    path("keys/", views.keys, name="account-keys"),
    path("keys/<int:api_key_id>/revoke/", views.key_revoke, name="account-key-revoke"),
    path("credits/", views.credits, name="account-credits"),
]
