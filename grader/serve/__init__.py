"""``grade serve``: a workspace's practice pages in the browser, on this machine only.

A second surface over the same workspace as ``grade check``: answers go to the same
``answers.yaml`` (``grader.workspace.edits``), grading is ``grader.grading.check``'s, progress
and the day streak are the same ``.grade/progress.json``. ``gate`` admits only 127.0.0.1 with
the session's token, ``pages`` writes the HTML, ``views`` gathers what a page shows, ``app``
is the HTTP server; ``static/`` holds the page's one script and style sheet (package data).

A surface like the CLI: it imports grading, reporters' terminal helpers, the workspace, the
bank, the item registry and below; never the CLI, batches, assignments or integrations.
"""
