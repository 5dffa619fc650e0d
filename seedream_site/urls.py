from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

import accounts.views
from generations.openai_compat import views as openai_views
from seedream_site.api_docs import api_docs
from seedream_site.observability import views as observability_views

urlpatterns = [
    # Probes and Prometheus: outside the app's URL space, never behind a login redirect.
    path("healthz", observability_views.healthz, name="healthz"),
    path("metrics", observability_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("seedream_site.api_urls")),
    path("v1/", include("generations.openai_compat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/schema/openai/", openai_views.schema, name="api-schema-openai"),
    path("api/docs/", api_docs, name="api-docs"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", accounts.views.signup, name="signup"),
    path("account/", include("accounts.urls")),
    path("", include("generations.urls")),
]

handler400 = "seedream_site.error_pages.bad_request"
handler403 = "seedream_site.error_pages.permission_denied"
handler404 = "seedream_site.error_pages.page_not_found"
handler500 = "seedream_site.error_pages.server_error"
