"""Grading a whole class: intake of submissions (folders and archives), the resumable batch
run, its progress bar, and the files TAs upload, rebuilt from ``results/*.json``.

Imports reporters, assignments, grading and below; never integrations or the CLI.
"""
