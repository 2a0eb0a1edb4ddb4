"""The integration-test harness: world.py (the test base), run.py (the runner
with its closing line), wait.py (waits for the servers to answer)."""
