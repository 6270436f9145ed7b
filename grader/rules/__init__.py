"""Grading rules: one pure function per response kind (numeric, choice, ordering)."""
