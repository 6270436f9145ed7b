"""What grading produces: ``Status`` (the one table of statuses and what each output makes of
them) and ``Result`` (one item's status, score and feedback).

Imports nothing of the grader.
"""
