"""What the pages and the API read: one module per concern, each query with the
related rows its page needs."""
