#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
# It installs Python and the grader bundled in /autograder/source.
set -euo pipefail
cd /autograder/source
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-pip python3-venv >/dev/null
fi
python3 -m pip install --upgrade pip
$torch_line
python3 -m pip install -e "./grader-src$extras"
grade validate --bank grader-src/bank
