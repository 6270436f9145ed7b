"""Leaf utilities every stage uses: reading and writing untrusted files (one YAML loader, one
atomic write, one schema validator), a problem found in the bank, a workspace's ``.grade`` folder,
and where the bank lives.

Imports nothing of the grader but ``grader.course``.
"""
