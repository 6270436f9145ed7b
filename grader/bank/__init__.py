"""The bank as a whole: find and load it (with the user's cache), validate it (``grade
validate``, code items and kernel tasks run against their mutants) and browse it (listings,
cards, keys, errata).

Imports the item registry and everything below it; never workspaces, grading or outputs.
"""
