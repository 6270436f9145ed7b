"""Reference solvers for the exercise bank.

Each derive item names one function here as ``solutions.<module>:<function>``.
A solver takes the item's parameters as keyword arguments and returns the answer
as a float in *base units* (FLOPs, bytes, tokens, seconds, dollars, radians, or a
plain number); the grader converts it to the unit the item asks for.
"""
