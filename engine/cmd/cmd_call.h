/* cmd_call — `deadbolt call SERVICE OPERATION [JSON]`: one AWS call, for
 * debugging; prints boto3's shape of the result as JSON. */
#ifndef DEADBOLT_CMD_CALL_H
#define DEADBOLT_CMD_CALL_H

int cmd_call(int argc, char **argv);

#endif
