"""Other tools' formats around the grader: the Gradescope autograder, nbgrader notebooks and
the checks their cells call, and the grader's wheel that images install.

Imports batches and everything below; never the CLI.
"""
