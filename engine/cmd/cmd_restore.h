/* cmd_restore — `deadbolt restore`: a containment's journal undone. */
#ifndef DEADBOLT_CMD_RESTORE_H
#define DEADBOLT_CMD_RESTORE_H

int cmd_restore(int argc, char **argv);

#endif
