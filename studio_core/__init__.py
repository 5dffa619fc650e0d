"""What both apps and the project's wiring build on, importing none of them.

It sits under ``accounts`` and ``generations`` (``accounts`` never imports ``generations``,
and ``seedream_site`` is the top layer that wires them), so a thing both apps need lives here:
the base of every service error, integers from client text, the id row converter, the
threaded streaming response, the log context and the scrubbing of secrets from logs. Nothing
here imports an app or ``seedream_site`` (the import contracts in pyproject.toml check it).
"""
