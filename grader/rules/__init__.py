"""Grading rules: one pure function per response kind (numeric, choice, ordering, code runs),
with the tolerances and generic slips the numeric rule uses.

Imports result types, the response readers and the sandbox's ``CodeRun`` type only: no IO,
no sandbox runs, no grading loop, no output.
"""
