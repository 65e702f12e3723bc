"""Candidate rosters: imported from a CSV, kept as keyed HMACs only, pushed to each agent with the exam's key.

    load    (pure: the CSV → validated rows, every problem with its line; rows → HMACs with the agent's function)
    cli     (``sitewatch hub roster import FILE``: creates the exam's key, stores HMACs + masked numbers)
    push    (a thread: each agent gets its site's rosters and the key, retained on its ``roster`` topic)

The raw ID numbers exist only in the import's memory: they are never stored, printed or logged.
"""
