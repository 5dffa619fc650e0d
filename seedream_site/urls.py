from allauth.account import views as allauth_views
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

import accounts.views
from generations.openai_compat import views as openai_views
from seedream_site.api_docs import api_docs
from seedream_site.observability import views as observability_views

# The admin speaks of the product, not of the framework it is built with.
admin.site.site_header = "Seedream Studio"
admin.site.site_title = "Seedream Studio admin"
admin.site.index_title = "Administration"

urlpatterns = [
    # Probes and Prometheus: outside the app's URL space, never behind a login redirect.
    path("healthz", observability_views.healthz, name="healthz"),
    path("metrics", observability_views.metrics, name="metrics"),
    # Before the admin's own: staff sign in on the workspace's page (one form, one throttle).
    path("admin/login/", accounts.views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("seedream_site.api_urls")),
    path("v1/", include("generations.openai_compat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/schema/openai/", openai_views.schema, name="api-schema-openai"),
    path("api/docs/", api_docs, name="api-docs"),
    # Sign-in is django-allauth's (its pages below, at the root). These names are the ones
    # templates use; each path comes before allauth's own so the same page answers both names.
    path("login/", accounts.views.login_page, name="login"),
    path("logout/", allauth_views.logout, name="logout"),
    path("signup/", accounts.views.signup, name="signup"),
    path(
        "invitations/<str:token>/",
        accounts.views.invitation_accept_view,
        name="invitation-accept",
    ),
    # Where Django's own password pages would be.
    path("password_reset/", RedirectView.as_view(pattern_name="account_reset_password")),
    path("password_change/", RedirectView.as_view(pattern_name="account_change_password")),
    # Before allauth's own: with SSO_ONLY, only staff change a password.
    path("password/change/", accounts.views.password_change_page),
    # Before allauth's own: the two-factor code step under the sign-in throttle.
    path("2fa/authenticate/", accounts.views.mfa_code_page, name="mfa_authenticate"),
    path("", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("", include("generations.urls")),
]

handler400 = "seedream_site.error_pages.bad_request"
handler403 = "seedream_site.error_pages.permission_denied"
handler404 = "seedream_site.error_pages.page_not_found"
handler500 = "seedream_site.error_pages.server_error"
