"""Grading a student's work: the one pipeline from entries and answers to results
(``pipeline``), and ``grade check`` over a workspace (``check``).

Imports workspaces, the bank, the item registry and below; never batches, integrations or
the CLI.
"""
