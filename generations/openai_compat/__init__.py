"""The OpenAI-compatible face of the API: /v1/images/generations, /v1/images/edits, /v1/models.

Existing tools (the official `openai` SDK, anything speaking the Images API) work by changing
`base_url` and `api_key`. Every call takes the one generation path (generation_submit) and waits
for its result; errors use OpenAI's envelope.
"""
