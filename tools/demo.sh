#!/bin/sh
# make demo: deadbolt contains an EC2, an S3 and an IAM finding in a
# simulated account (moto + tests/fakeaws), started and stopped here.
# KEEP=1 (make demo KEEP=1): the account is kept running afterwards, with the
# finding files, the settings and the commands to replay them printed.
cd "$(dirname "$0")/.." || exit 1
if [ "${KEEP:-0}" = 1 ]; then
	# shellcheck disable=SC2016 # expanded by the inner shell, once the account exists
	exec sh tools/simulated-account.sh sh -c 'python3 tools/demo.py --keep "$SIMULATED_ACCOUNT_DIR/demo"'
fi
exec sh tools/simulated-account.sh python3 tools/demo.py
