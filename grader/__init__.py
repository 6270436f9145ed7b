"""Autograded exercise bank and grading CLI for building language models from scratch."""

__version__ = "0.1.0"

import sys

# jsonschema imports rfc3987_syntax, when installed (the Jupyter stack brings it), for its "iri"
# format checker: 0.7 s building a grammar on every command. No schema of the grader uses formats.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
