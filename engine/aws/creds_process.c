/* creds_process — the profile's credential_process (owned by the credentials
 * module; see creds_internal.h).
 *
 * Run without a shell: the command line is split like Python's shlex.split
 * (as botocore does), then fork + execvp in a new process group, stdin from
 * /dev/null, stdout to a pipe capped at 64 KiB, stderr inherited. The whole
 * run is bounded by timeout_ms; past it, or past the cap, the group gets
 * SIGKILL. The output (secrets) is wiped once parsed. */
#include "creds_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "buf.h"

#define PROC_MAX_ARGS 64
#define PROC_MAX_CMD 8192

/* ---- splitting ---- */

typedef struct splitter {
	const char *p;
	char *out;
	size_t n, cap;
} splitter;

static int put(splitter *s, char c)
{
	if (s->n + 1 >= s->cap)
		return -1;
	s->out[s->n++] = c;
	return 0;
}

/* One quoted run, s->p at the opening quote. In double quotes a backslash
 * escapes only '"' and '\\' (shlex's POSIX mode); single quotes are literal. */
static int quoted(splitter *s)
{
	char q = *s->p++;
	while (*s->p && *s->p != q) {
		if (q == '"' && s->p[0] == '\\' && (s->p[1] == '"' || s->p[1] == '\\'))
			s->p++;
		if (put(s, *s->p++) != 0)
			return -1;
	}
	if (!*s->p)
		return -1; /* no closing quotation */
	s->p++;
	return 0;
}

/* One piece of a word: a quoted run, an escaped character or a plain one. */
static int word_piece(splitter *s)
{
	if (*s->p == '\'' || *s->p == '"')
		return quoted(s);
	if (*s->p == '\\') {
		if (!s->p[1])
			return -1; /* no escaped character */
		s->p++;
	}
	return put(s, *s->p++);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int creds_split_command(const char *cmd, char *storage, size_t storage_len, char **argv,
			size_t maxargs)
{
	splitter s = {cmd, storage, 0, storage_len};
	size_t argc = 0;
	if (!cmd || !storage || !storage_len || maxargs < 2)
		return -1;
	for (;;) {
		while (is_space(*s.p))
			s.p++;
		if (!*s.p)
			break;
		if (argc + 1 >= maxargs)
			return -1;
		argv[argc++] = storage + s.n;
		while (*s.p && !is_space(*s.p))
			if (word_piece(&s) != 0)
				return -1;
		if (put(&s, '\0') != 0)
			return -1;
	}
	argv[argc] = NULL;
	return (int)argc;
}

/* ---- running ---- */

static double now_ms(void)
{
	return clock_mono() * 1000.0;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child(char *const *argv, int wfd)
{
	struct sigaction dfl;
	sigset_t none;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(wfd, 1) < 0 || fcntl(1, F_SETFD, 0) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	execvp(argv[0], argv);
	_exit(127);
}

static pid_t spawn(char *const *argv, int *rfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0)
		child(argv, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	setpgid(pid, pid); /* also in the child: whichever runs first */
	*rfd = p[0];
	return pid;
}

/* Reads the child's stdout to EOF. 0, or -1 with *why set. */
static int collect(int fd, double deadline, buf *out, const char **why)
{
	char chunk[4096];
	int rc = -1;
	for (;;) {
		double left = deadline - now_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		if (left <= 0) {
			*why = "timeout";
			goto out;
		}
		int n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left + 1);
		if (n <= 0) {
			if (n < 0 && errno != EINTR) {
				*why = "read";
				goto out;
			}
			continue;
		}
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			rc = r == 0 ? 0 : -1;
			*why = r == 0 ? NULL : "read";
			goto out;
		}
		if (buf_append(out, chunk, (size_t)r) != 0) {
			*why = "too large";
			goto out;
		}
	}
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return rc;
}

/* Waits for the child until the deadline. 0, or -1 with *why set. */
static int reap(pid_t pid, double deadline, int *status, const char **why)
{
	struct timespec tick = {0, 5 * 1000 * 1000};
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			*why = "wait";
			return -1;
		}
		if (now_ms() >= deadline) {
			*why = "timeout";
			return -1;
		}
		nanosleep(&tick, NULL);
	}
}

static void kill_child(pid_t pid)
{
	kill(-pid, SIGKILL); /* the group: a script's own children too */
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void run_error(aws_error *err, const char *profile, const char *why, long timeout_ms)
{
	if (strcmp(why, "timeout") == 0)
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process did not finish within %ld ms", profile,
			      timeout_ms);
	else if (strcmp(why, "too large") == 0)
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process printed more than %zu bytes", profile,
			      CREDS_MAX_OUTPUT);
	else
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process failed (%s)", profile, why);
}

static int exit_error(aws_error *err, const char *profile, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process exited with status %d%s", profile,
			      WEXITSTATUS(status),
			      WEXITSTATUS(status) == 127 ? " (command not found?)" : "");
	else
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process was killed by signal %d", profile,
			      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

int creds_process(const char *profile, const char *cmd, long timeout_ms, aws_credentials *out,
		  aws_error *err)
{
	static const creds_json_spec spec = {"credential_process", "SessionToken", 1};
	char storage[PROC_MAX_CMD], *argv[PROC_MAX_ARGS];
	buf output;
	int rc = -1, fd = -1, status = 0;
	pid_t pid;
	const char *why = NULL;
	double deadline = now_ms() + (double)timeout_ms;
	buf_init(&output, CREDS_MAX_OUTPUT);
	if (creds_split_command(cmd, storage, sizeof(storage), argv, PROC_MAX_ARGS) <= 0) {
		aws_error_set(err, "InvalidConfig",
			      "profile %s: credential_process is not a valid command line", profile);
		goto out;
	}
	pid = spawn(argv, &fd);
	if (pid < 0) {
		aws_error_set(err, "CredentialProcessError",
			      "profile %s: credential_process could not be started", profile);
		goto out;
	}
	if (collect(fd, deadline, &output, &why) != 0 || reap(pid, deadline, &status, &why) != 0) {
		kill_child(pid);
		run_error(err, profile, why ? why : "timeout", timeout_ms);
		goto out;
	}
	if (exit_error(err, profile, status) != 0)
		goto out;
	rc = creds_from_json(output.data ? output.data : "", output.len, &spec, out, err);
	if (rc == 0)
		snprintf(out->source, sizeof(out->source), "process");
out:
	if (fd >= 0)
		close(fd);
	buf_wipe(&output);
	OPENSSL_cleanse(storage, sizeof(storage));
	return rc;
}
