"""run — runs the integration tests (tests/integration/test_*.py, or those
named on the command line as file paths) with unittest, and closes with the
plain line 'integration: N passed, N failed[, N skipped]'. Exits 1 when a test
failed or errored, or when none ran."""

import os
import sys
import unittest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION = os.path.join(TESTS, "integration")


def suite(paths):
    loader = unittest.defaultTestLoader
    if not paths:
        return loader.discover(INTEGRATION, pattern="test_*.py", top_level_dir=INTEGRATION)
    for path in paths:  # each file's folder importable, then the file by name
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    return loader.loadTestsFromNames([os.path.splitext(os.path.basename(p))[0] for p in paths])


def main(argv):
    sys.path[:0] = [TESTS, INTEGRATION]  # "from harness.world import ..."; test modules by name
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite(argv[1:]))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    line = f"integration: {passed} passed, {failed} failed"
    print(line + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
