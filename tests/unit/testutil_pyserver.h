/* testutil_pyserver — a Python fake server (tests/integration/fake_*.py)
 * for the unit tests that talk HTTP to one on 127.0.0.1 (test_creds_http.c,
 * test_client_async.c).
 *
 * tu_server_start(script, name, args) runs `python3 SCRIPT --port-file P
 * --log-file L ARGS...` in a fresh /tmp/deadbolt-NAME-XXXXXX and waits (up
 * to 10 s) for the port it writes; server_port, log_path and server_dir say
 * where it is. It is started once per test case (an unchecked fixture, in
 * the runner process) and stopped in its teardown (tu_server_teardown); it
 * also dies with the runner (PR_SET_PDEATHSIG), so a failing or crashing
 * test cannot leave it behind; each script also stops itself after a few
 * minutes (--max-seconds, among ARGS).
 *
 * Header-only, like testutil.h (a .c file in tests/unit would be taken for
 * a test binary); one server per test binary. Every helper fails the
 * current test with a Check assertion instead of returning an error. */
#ifndef DEADBOLT_TESTUTIL_PYSERVER_H
#define DEADBOLT_TESTUTIL_PYSERVER_H

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TU_SERVER_MAX_ARGS 16

static pid_t server_pid = -1, server_owner = -1;
static int server_port;
static char server_dir[256], log_path[320];

static int tu_read_port(const char *port_file)
{
	FILE *f = fopen(port_file, "r");
	int port = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%d", &port) != 1)
		port = 0;
	fclose(f);
	return port;
}

/* Only the runner that started the server stops it: Check's forked test
 * processes inherit the atexit handler. */
static void tu_server_stop(void)
{
	if (server_pid > 0 && getpid() == server_owner) {
		kill(server_pid, SIGKILL);
		while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
			;
		server_pid = -1;
	}
}

/* In the child: the server, or exit. args: NULL-terminated. */
static void tu_exec_server(const char *script, const char *port_file, const char *const *args, pid_t parent)
{
	const char *argv[TU_SERVER_MAX_ARGS + 7] = {"python3", script, "--port-file", port_file,
						    "--log-file", log_path};
	int n = 6;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	for (int i = 0; args[i] && i < TU_SERVER_MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	execvp("python3", (char *const *)argv);
	_exit(127);
}

static void tu_server_start(const char *script, const char *name, const char *const *args)
{
	char port_file[320];
	pid_t parent = getpid();
	ck_assert_msg(access(script, R_OK) == 0, "cannot read %s (run from the repository root)", script);
	snprintf(server_dir, sizeof(server_dir), "/tmp/deadbolt-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(server_dir));
	snprintf(port_file, sizeof(port_file), "%s/port", server_dir);
	snprintf(log_path, sizeof(log_path), "%s/requests.log", server_dir);
	server_owner = parent;
	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0)
		tu_exec_server(script, port_file, args, parent);
	atexit(tu_server_stop);
	for (int i = 0; i < 500 && !(server_port = tu_read_port(port_file)); i++) {
		ck_assert_msg(waitpid(server_pid, NULL, WNOHANG) == 0, "%s exited", script);
		usleep(20 * 1000);
	}
	ck_assert_msg(server_port > 0, "%s did not start within 10 s", script);
}

static void tu_server_teardown(void)
{
	char path[320];
	tu_server_stop();
	snprintf(path, sizeof(path), "%s/port", server_dir);
	unlink(path);
	unlink(log_path);
	rmdir(server_dir);
}

#endif
