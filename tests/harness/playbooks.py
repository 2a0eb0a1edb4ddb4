"""playbooks — the playbooks the integration tests run: the shipped ones
(playbooks/*.lua and lib/) with the tests' own configuration
(tests/harness/config.lua) in place of playbooks/config.lua.

So a team that tunes playbooks/config.lua still has a green `make test`:
the suite checks what the playbooks do with settings it knows, and the
team's settings are theirs to test (docs/testing.md shows how).

    DEADBOLT_TEST_PLAYBOOKS_FROM  the playbooks under test (default playbooks/)
    DEADBOLT_TEST_CONFIG          the configuration they are run with
                                  (default tests/harness/config.lua)

World.deadbolt passes the directory to every deadbolt it starts as
DEADBOLT_PLAYBOOKS (a test's own --playbooks, or env, wins)."""

import atexit
import os
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(ROOT, "playbooks")
TEST_CONFIG = os.path.join(ROOT, "tests", "harness", "config.lua")

_built = {}


def build(source=None, config=None, into=None):
    """A copy of source (a playbook directory) with config as its config.lua,
    in a new temporary directory (or into, a directory that must not exist);
    returns its path. The caller removes it (into's parent, or the path's)."""
    source = source or os.environ.get("DEADBOLT_TEST_PLAYBOOKS_FROM") or SHIPPED
    config = config or os.environ.get("DEADBOLT_TEST_CONFIG") or TEST_CONFIG
    if not os.path.isfile(os.path.join(source, "config.lua")):
        raise RuntimeError(f"{source} has no config.lua: not a playbook directory")
    dest = into or os.path.join(tempfile.mkdtemp(prefix="deadbolt-test-playbooks-"), "playbooks")
    shutil.copytree(source, dest)
    shutil.copyfile(config, os.path.join(dest, "config.lua"))
    return dest


def test_playbooks():
    """The directory the suite runs deadbolt with: built once per process,
    removed at exit."""
    key = (os.environ.get("DEADBOLT_TEST_PLAYBOOKS_FROM"), os.environ.get("DEADBOLT_TEST_CONFIG"))
    if key not in _built:
        path = build()
        atexit.register(shutil.rmtree, os.path.dirname(path), True)
        _built[key] = path
    return _built[key]
