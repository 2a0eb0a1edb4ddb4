#!/bin/sh
# make demo: deadbolt contains an EC2, an S3 and an IAM finding in a
# simulated account (moto + tests/fakeaws), started and stopped here.
cd "$(dirname "$0")/.." || exit 1
exec sh tools/simulated-account.sh python3 tools/demo.py
