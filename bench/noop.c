/* noop — the do-nothing C program that `make bench` (bench/startup.py)
 * compares `deadbolt version` against: the cost of exec, the dynamic loader
 * and glibc, which no program on this machine can start below. Built with
 * the machine's defaults (cc -O2: PIE, glibc dynamic). Not part of deadbolt. */
int main(void)
{
	return 0;
}
