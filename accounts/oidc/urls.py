"""allauth's OpenID Connect paths and names (``/oidc/<provider_id>/login/`` and its
``callback/``), served by ``accounts.oidc.views``. allauth includes this module itself."""

from allauth.socialaccount import app_settings
from django.urls import include, path

from . import views

_provider_urls = [
    path("login/", views.login, name="openid_connect_login"),
    path("login/callback/", views.callback, name="openid_connect_callback"),
]

urlpatterns = [
    path(
        f"{app_settings.OPENID_CONNECT_URL_PREFIX}/<str:provider_id>/",
        include(_provider_urls),
    )
]
