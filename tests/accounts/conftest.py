from tests.mailserver import smtp_server  # noqa: F401  (a real SMTP server on loopback)
