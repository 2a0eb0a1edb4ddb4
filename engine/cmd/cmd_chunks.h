/* cmd_chunks — `deadbolt chunks`: compiles every playbook and module of a
 * playbook directory into one file of Lua bytecode with each text's SHA-256
 * (sandbox_chunks_write), which the Lambda package ships as
 * playbooks.chunks so that a cold start does not compile them. */
#ifndef DEADBOLT_CMD_CHUNKS_H
#define DEADBOLT_CMD_CHUNKS_H

/* argv[0] is "chunks". Exit code: 0, 1 (a file failed to compile or to be
 * written), or 2 for a usage error. */
int cmd_chunks(int argc, char **argv);

#endif
