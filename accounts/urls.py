from django.urls import path

# Registers the <row_id:…> converter the routes below use.
from studio_core import converters  # noqa: F401

from . import views

urlpatterns = [
    path("keys/", views.keys, name="account-keys"),
    path("keys/<row_id:api_key_id>/", views.key_settings, name="account-key-settings"),
    path("keys/<row_id:api_key_id>/revoke/", views.key_revoke, name="account-key-revoke"),
    path("credits/", views.credits, name="account-credits"),
]
