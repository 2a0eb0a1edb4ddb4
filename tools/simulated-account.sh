#!/bin/sh
# simulated-account — runs a command against a simulated AWS account.
#
# Starts moto_server and the fake AWS in front of it (tests/fakeaws) on free
# loopback ports, with the fake checking every request's SigV4 signature;
# exports MOTO_URL, FAKEAWS_URL, DEADBOLT_BIN and SIMULATED_ACCOUNT_DIR (a
# scratch directory, removed at the end); runs the command given (`make
# test` runs the integration tests through it, `make demo` the demo); stops
# both servers by pid whatever happens. KEEP_LOGS=1 keeps their logs.
#
# KEEP=1: when the command has run to its end (not interrupted), the servers
# and the scratch directory are kept, so that the account can be used again;
# $SIMULATED_ACCOUNT_DIR/stop.sh stops the servers and removes it.
set -u
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || { echo "usage: tools/simulated-account.sh COMMAND [ARGS]" >&2; exit 2; }
ROOT=$(pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-account.XXXXXX") || exit 1
MOTO_PID=
FAKE_PID=
TESTS_PID=
KEPT=0

# What stops the servers when KEEP=1 left them running.
write_stop_script() {
	cat >"$WORK/stop.sh" <<STOP
#!/bin/sh
# Stops the simulated account that KEEP=1 kept (tools/simulated-account.sh):
# only processes that are still these servers (a pid may have been reused).
for pid in $MOTO_PID $FAKE_PID; do
	case \$(tr '\\000' ' ' </proc/\$pid/cmdline 2>/dev/null) in
	*moto_server*|*fakeaws/server.py*) kill \$pid ;;
	esac
done
rm -rf '$WORK'
echo 'simulated-account: stopped'
STOP
}

# shellcheck disable=SC2317 # called by the EXIT trap
stop() {
	if [ "$KEPT" = 1 ]; then
		write_stop_script
		echo "simulated-account: kept: moto at $MOTO_URL (pid $MOTO_PID), the fake AWS at" \
			"$FAKEAWS_URL (pid $FAKE_PID); stop both with: sh $WORK/stop.sh" >&2
		return
	fi
	for pid in $TESTS_PID $FAKE_PID $MOTO_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in $TESTS_PID $FAKE_PID $MOTO_PID; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
	done
	if [ "${KEEP_LOGS:-0}" = 1 ]; then
		echo "simulated-account: logs kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "simulated-account: $1" >&2
	for log in "$WORK"/*.log; do
		[ -s "$log" ] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
	done
	exit 1
}

command -v moto_server >/dev/null 2>&1 || fail "moto_server is not on PATH: run 'make deps'"

# moto_server needs a port number: ask the kernel for a free one. The fake
# binds port 0 itself and writes the port it got.
MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
	|| fail "no free port"
moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
echo "$MOTO_PID" >"$WORK/moto.pid"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"
python3 tests/harness/wait.py --timeout 60 --pid "$MOTO_PID" "$MOTO_URL/moto-api/" \
	|| fail "moto_server did not start"

python3 tests/fakeaws/server.py --upstream "$MOTO_URL" --verify-sigv4 \
	--port-file "$WORK/fake.port" --pid-file "$WORK/fake.pid" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
i=0
while [ ! -s "$WORK/fake.port" ] && kill -0 "$FAKE_PID" 2>/dev/null && [ "$i" -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$WORK/fake.port" ] || fail "the fake AWS server did not start"
FAKEAWS_URL="http://127.0.0.1:$(cat "$WORK/fake.port")"
python3 tests/harness/wait.py --timeout 30 --pid "$FAKE_PID" "$FAKEAWS_URL/__fake/health" \
	|| fail "the fake AWS server does not answer"

SIMULATED_ACCOUNT_DIR=$WORK
export MOTO_URL FAKEAWS_URL SIMULATED_ACCOUNT_DIR
export DEADBOLT_BIN="${DEADBOLT_BIN:-$ROOT/build/deadbolt}"
# Tests talk to the servers above only; nothing of the caller's AWS set-up.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL \
	AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
# In the background and waited for, so that a TERM or INT is acted on at
# once (a shell runs its traps only after a foreground command has ended).
"$@" &
TESTS_PID=$!
wait "$TESTS_PID"
rc=$?
TESTS_PID=  # reaped: its pid may belong to another process now
[ "${KEEP:-0}" = 1 ] && KEPT=1
exit $rc
