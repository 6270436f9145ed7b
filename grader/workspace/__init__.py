"""A student's workspace: its manifest (``grade.yaml``), its ``answers.yaml`` template, its
progress, and creating, finding and opening one.

Imports the bank, the item registry and below; never grading, batches or outputs.
"""
