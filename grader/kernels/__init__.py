"""GPU kernel tasks: spec, inputs, sandboxed correctness checks and roofline timing.

Imports the sandbox, ``grader.core`` and the arithmetic grammar; never items, grading or outputs
(``grade kernel`` is ``grader/cli/kernels.py``).
"""
