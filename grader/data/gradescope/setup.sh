#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built. It installs the grader
# bundled in /autograder/source into a virtual environment (images whose system Python
# refuses pip installs, PEP 668, work too).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-pip python3-venv >/dev/null
fi
# bubblewrap isolates student code where the container allows namespaces
apt-get install -y -qq bubblewrap >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null 2>&1) || true
python3 -m venv "$ROOT/venv"
PY="$ROOT/venv/bin/python"
$PY -m pip install --upgrade pip
$torch_line
$PY -m pip install -e "./grader-src$extras"
"$ROOT/venv/bin/grade" validate --bank grader-src/bank
