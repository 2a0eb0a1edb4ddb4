/* undo — the undo records of a live run (one journal line "undo" per thing a
 * write changed: its undo call, the state before and after, and where the
 * state before came from), and the restore that replays them. The builders
 * and restore are Lua (engine/run/undo.lua, compiled in as UNDO_LUA), run in
 * a host state no playbook reaches.
 *
 * Ownership: UNDO_LUA is static; undo_load pushes a new module table into
 * the caller's state, which owns it. */
#ifndef DEADBOLT_UNDO_H
#define DEADBOLT_UNDO_H

#include <lua.h>
#include <stddef.h>

extern const char UNDO_LUA[];
extern const size_t UNDO_LUA_LEN;

/* Loads the module into L (which must have base, string, table and cjson
 * open; cjson as the global or package "cjson" is not needed: the module
 * gets cjson from the "cjson" field of the registry's loaded table) and
 * pushes its table. 0, or -1 with the error message pushed. */
int undo_load(lua_State *L);

#endif
