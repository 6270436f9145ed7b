"""Reading what a student wrote, without trusting it: ``answers.yaml``, the safe arithmetic
grammar, numbers with units, and the unit table.

Imports ``grader.core`` only.
"""
