"""The browser workspace's pages, one module per area (compose, gallery, detail, files, boards).

Each view translates the request, makes one selector or service call, and renders; the rules
live in ``generations.services`` and the reads in ``generations.selectors``.
"""
