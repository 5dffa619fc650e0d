"""The native REST API under /api/v1/: one view per operation, each translating its input,
calling one service or selector, and translating the result. Errors go through
``generations.api.errors`` only."""
