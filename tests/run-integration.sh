#!/bin/sh
# run-integration — the integration tests on a simulated account: runs
# tests/integration/test_*.py (or the files named as arguments) through
# tests/harness/run.py, which closes with 'integration: N passed, N failed'.
cd "$(dirname "$0")/.." || exit 1
exec sh tools/simulated-account.sh python3 tests/harness/run.py "$@"
