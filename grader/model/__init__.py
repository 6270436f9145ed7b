"""What the bank and a workspace hold, as data: chapters, items, parameters, constraints,
prompt rendering, solver references, mutant patches and manifest entries (``ManifestItem``).

Imports the stages below it: core, results, responses, rules (tolerances, orderings) and
``grader.kernels.spec``; never items, bank loading, workspaces, grading or outputs.
"""
