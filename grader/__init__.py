"""Autograded exercise bank and grading CLI for building language models from scratch."""

__version__ = "0.1.0"
DISTRIBUTION = "lm-workbook-grader"  # the name pip and pyproject.toml know it by
