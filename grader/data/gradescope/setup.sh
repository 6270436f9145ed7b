#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built. It installs the grader's
# wheel bundled in /autograder/source/dist into a virtual environment (images whose system
# Python refuses pip installs, PEP 668, work too) and checks the course in course/.
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
$PY -m pip install "$requirement"
# the installed grader holds the course's solutions and hidden tests: where each student can only
# be a user of its own (no namespaces, no Landlock), they must be closed to other users
chmod -R go-rwx "$($PY -c 'import grader, os; print(os.path.dirname(grader.__file__))')"
"$ROOT/venv/bin/grade" validate --bank course/bank
