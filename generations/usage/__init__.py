"""Staff usage auditing: who spent what, through which provider, and whether it matched.

Reads only (selectors): the usage report, provider health and reconciliation. The admin pages
that show them live in ``views``; every change they offer goes through a service.
"""
