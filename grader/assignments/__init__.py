"""Assignments: specs (items, points, modes, each student's variant), rosters, and releases
(the student folders and the instructor side, scanned for anything that gives answers away).

Imports grading, workspaces and below; never batches, integrations or the CLI.
"""
