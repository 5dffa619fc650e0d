"""Single sign-on with OpenID Connect: django-allauth's ``openid_connect`` provider, with the
ID token checks it leaves out in the authorization-code flow (see ``provider``)."""
