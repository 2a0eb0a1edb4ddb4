/* cli_text — the AWS CLI's `--output text` form of a JSON document, as
 * awscli/text.py writes it: a dict's scalar values on one line, tab-separated,
 * in key order, after the upper-cased key it is under; its lists and dicts
 * after that, each under its own key; a list of dicts as one line per dict
 * over the scalar keys of them all ("" where one lacks a key). Scalars are
 * written as Python's str() would (True, False, None; floats as repr).
 * Borrows the tree; the caller owns out. */
#ifndef DEADBOLT_CLI_TEXT_H
#define DEADBOLT_CLI_TEXT_H

#include "buf.h"
#include "json_tree.h"

/* 0, or -1 when out passed its maximum or memory ran out. */
int cli_text_write(const jt_node *root, buf *out);

#endif
