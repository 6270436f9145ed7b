"""The sandbox: student code runs only here (namespaces, Landlock, seccomp, limits, a warm
zygote and a cold runner), and reports back over a typed wire.

Imports nothing of the grader: it sits below every stage.
"""
