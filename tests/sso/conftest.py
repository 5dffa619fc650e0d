from tests.sso.oidc_server import oidc_provider, sso_app  # noqa: F401  (fixtures)
