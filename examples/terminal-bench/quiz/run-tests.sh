#!/usr/bin/env bash
# Run by the harness after the agent, with tests/ copied to $TEST_DIR (/tests).
set -euo pipefail
python3 -m pytest -p no:cacheprovider "${TEST_DIR:-/tests}/test_outputs.py" -rA
