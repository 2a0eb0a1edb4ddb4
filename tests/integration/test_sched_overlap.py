"""Calls inside aws.all overlap: a playbook's aws.all and aws.each run
through deadbolt against the fake, which delays each answer (the "slow"
fault) and records when every request arrived, when it was answered and on
which TCP connection (GET /__fake/log: time, done, conn).

What this shows: five calls delayed 300 ms each inside aws.all are all in
flight together and take less than two answers' time (one after the other
would take five); the requests of a run share a few kept-alive connections
(fewer connections than requests); no more than DEADBOLT_MAX_CONCURRENT
requests to one service are in flight at once; the journal lists the calls
in the order a sequential run makes them, each with when it was asked for,
sent and answered; the calls of a function made by aws.first leave a full
service's queue before older calls made beside it.

What it cannot show: moto answers at once and the fake runs on loopback
over plain HTTP, so neither TLS session reuse (the share handle's
SSL_SESSION cache) nor AWS's real rate limits are exercised here; the fake
is a threaded server, so "in flight at once" is what it saw arrive before
it answered, measured by its own clock."""

import os
import shutil
import tempfile
import textwrap

from harness.world import WorldTestCase
from playbook_cases import finding, instance_resource, run

DELAY_MS = 300

PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: calls that overlap (aws.all, aws.each).
    local function describe(tag)
      return function()
        ec2.describe_security_groups { GroupNames = { tag } }
        return tag
      end
    end
    return {
      name = "overlap",
      handles = { { finding_type = "^Test:EC2/Overlap" } },
      steps = {
        { name = "first", run = function(ctx) ec2.describe_volumes {} end },
        { name = "five", run = function(ctx)
            local r = aws.all { describe("default"), describe("default"), describe("default"),
                                describe("default"), describe("default") }
            assert(#r == 5)
          end },
        { name = "each", run = function(ctx)
            aws.each({ 1, 2, 3, 4, 5, 6 }, function(i)
              ec2.describe_instances {}
              log("info", "item " .. i)
            end)
          end },
      },
    }
    """)


def overlap_at_most(entries):
    """The most requests the fake had in hand at one moment."""
    edges = sorted([(e["time"], 1) for e in entries] + [(e["done"], -1) for e in entries])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


SAVES_PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: ctx.save and retries inside aws.each.
    return {
      name = "saves",
      handles = { { finding_type = "^Test:EC2/Saves" } },
      steps = {
        { name = "save", run = function(ctx)
            local calls = { a = ec2.describe_security_groups,
                            b = ec2.describe_iam_instance_profile_associations,
                            c = ec2.describe_network_interfaces }
            aws.each({ "a", "b", "c" }, function(tag)
              calls[tag] {}
              ctx.save("item_" .. tag, tag)
              ctx.save("last", tag)
            end)
          end },
        { name = "retried", run = function(ctx)
            aws.all {
              function() ec2.describe_instances {} end,
              function() ec2.describe_snapshots { OwnerIds = { "self" } } end,
              function() ec2.describe_volumes {} end,
            }
          end },
      },
    }
    """)


SPIN_PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: a function spinning inside aws.all while a call is in flight.
    return {
      name = "spin",
      handles = { { finding_type = "^Test:EC2/Spin" } },
      steps = {
        { name = "spin", run = function(ctx)
            pcall(aws.all, {
              function() ec2.describe_volumes {} end,
              function() while true do end end,
            })
          end },
      },
    }
    """)


GROUPS_PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: the argument rules see what a call inside aws.all made.
    local function group(vpc, name)
      return function()
        local g = ec2.create_security_group {
          GroupName = name, VpcId = vpc, Description = "deadbolt test",
          TagSpecifications = { { ResourceType = "security-group",
                                  Tags = { { Key = "deadbolt:group", Value = "untrack" } } } },
        }
        -- refused unless the rules learnt from the answer that the group is ours
        ec2.revoke_security_group_egress {
          GroupId = g.GroupId,
          IpPermissions = { { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } },
        }
        return g.GroupId
      end
    end
    return {
      name = "groups",
      handles = { { finding_type = "^Test:EC2/Groups" } },
      steps = {
        { name = "groups", run = function(ctx)
            local vpc = ec2.describe_security_groups { GroupNames = { "default" } }.SecurityGroups[1].VpcId
            local ids = aws.all { group(vpc, "deadbolt-test-a"), group(vpc, "deadbolt-test-b") }
            assert(#ids == 2)
          end },
      },
    }
    """)


FIRST_PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: the chain (aws.first) before the calls made beside it.
    return {
      name = "first",
      handles = { { finding_type = "^Test:EC2/First" } },
      steps = {
        { name = "first", run = function(ctx)
            aws.all {
              function() ec2.describe_volumes {}; ec2.describe_snapshots { OwnerIds = { "self" } } end,
              function() ec2.describe_instances {} end,
              aws.first(function()
                ec2.describe_security_groups { GroupNames = { "default" } }
                ec2.describe_network_interfaces {}
              end),
            }
          end },
      },
    }
    """)

WIDE_PLAYBOOK = textwrap.dedent("""\
    -- Test playbook: more calls to one service at once than the default cap.
    return {
      name = "wide",
      handles = { { finding_type = "^Test:EC2/Wide" } },
      steps = {
        { name = "ten", run = function(ctx)
            aws.each({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function() ec2.describe_instances {} end)
          end },
      },
    }
    """)


class OverlapCase(WorldTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="deadbolt-overlap-")
        with open(os.path.join(self.dir, "overlap.lua"), "w") as f:
            f.write(PLAYBOOK)
        with open(os.path.join(self.dir, "saves.lua"), "w") as f:
            f.write(SAVES_PLAYBOOK)
        with open(os.path.join(self.dir, "spin.lua"), "w") as f:
            f.write(SPIN_PLAYBOOK)
        with open(os.path.join(self.dir, "groups.lua"), "w") as f:
            f.write(GROUPS_PLAYBOOK)
        with open(os.path.join(self.dir, "first.lua"), "w") as f:
            f.write(FIRST_PLAYBOOK)
        with open(os.path.join(self.dir, "wide.lua"), "w") as f:
            f.write(WIDE_PLAYBOOK)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.world.control("/__fake/reset", {})

    def run_playbook(self, env=None, ftype="Test:EC2/Overlap", rc=0):
        doc = finding(ftype, instance_resource("i-0123456789abcdef0"))
        result = run(self.world, doc, env=env, playbooks=self.dir)
        self.assertEqual(result.rc, rc, result.describe())
        return result

    def calls(self, action):
        return [e for e in self.world.log(action) if e.get("done")]


class TestCallsOverlap(OverlapCase):
    def test_five_slow_calls_in_all_take_less_than_two_delays(self):
        self.world.fault("DescribeSecurityGroups", "slow", count=5, delay_ms=DELAY_MS)
        self.run_playbook(env={"DEADBOLT_MAX_CONCURRENT": "5"})
        five = self.calls("DescribeSecurityGroups")
        self.assertEqual(len(five), 5)
        span = max(e["done"] for e in five) - min(e["time"] for e in five)
        # One answer takes the delay plus moto's own time (about 0.1-0.5 s
        # on a loaded machine): the five together must take less than two
        # answers' time, where one after the other would take five.
        one = min(e["done"] - e["time"] for e in five)
        self.assertGreaterEqual(one, DELAY_MS / 1000.0)
        self.assertLess(span, 2 * one, f"5 calls took {span:.3f} s, one {one:.3f} s: not overlapped")
        self.assertLess(max(e["time"] for e in five), min(e["done"] for e in five),
                        "a call was sent only after another was answered")
        self.assertEqual(overlap_at_most(five), 5)

    def test_default_cap_sends_eight_then_the_ninth(self):
        self.world.fault("DescribeInstances", "slow", count=10, delay_ms=DELAY_MS)
        self.run_playbook(ftype="Test:EC2/Wide")
        ten = self.calls("DescribeInstances")
        self.assertEqual(len(ten), 10)
        self.assertEqual(overlap_at_most(ten), 8)

    def test_requests_share_kept_alive_connections(self):
        self.run_playbook()
        entries = [e for e in self.world.log() if e["service"] == "ec2"]
        self.assertEqual(len(entries), 12)
        conns = {e["conn"] for e in entries}
        self.assertLess(len(conns), len(entries), "every request opened its own connection")
        self.assertLessEqual(len(conns), 8, "more connections than the cap (default 8) allows")
        # The call sent before aws.all (one at a time) and those inside it
        # share one connection cache.
        first = entries[0]
        self.assertEqual(first["action"], "DescribeVolumes")
        self.assertIn(first["conn"], {e["conn"] for e in entries[1:]})

    def test_concurrency_cap_per_service(self):
        self.world.fault("DescribeInstances", "slow", count=6, delay_ms=DELAY_MS)
        self.run_playbook(env={"DEADBOLT_MAX_CONCURRENT": "2"})
        six = self.calls("DescribeInstances")
        self.assertEqual(len(six), 6)
        self.assertEqual(overlap_at_most(six), 2)
        span = max(e["done"] for e in six) - min(e["time"] for e in six)
        self.assertGreaterEqual(span, 3 * DELAY_MS / 1000.0 * 0.95, "6 calls 2 at a time need 3 delays")

    def test_journal_is_in_sequential_order_with_start_and_end(self):
        self.world.fault("DescribeSecurityGroups", "slow", count=1, delay_ms=DELAY_MS)
        result = self.run_playbook()
        lines = [(l["event"], l.get("op"), l.get("msg")) for l in result.lines
                 if l["event"] in ("aws_call", "log")]
        # aws.each: each item's call, then its log line, item by item,
        # whatever order the answers came in.
        expected = [("aws_call", "ec2.DescribeVolumes", None)]
        expected += [("aws_call", "ec2.DescribeSecurityGroups", None)] * 5
        for i in range(1, 7):
            expected += [("aws_call", "ec2.DescribeInstances", None), ("log", None, f"item {i}")]
        self.assertEqual(lines, expected)
        calls = [l for l in result.lines if l["event"] == "aws_call"]
        for c in calls:
            self.assertLessEqual(c["start_ms"], c["end_ms"])
        first = calls[1]  # the slow one: the others started before it ended
        self.assertTrue(all(c["start_ms"] < first["end_ms"] for c in calls[2:6]), calls[1:6])

    def test_journal_says_when_a_call_waiting_for_a_slot_was_sent(self):
        # Two EC2 requests at a time: of the six of aws.each, four wait for
        # a slot. start_ms is when each was asked for (all at once), sent_ms
        # when it went (a delay later for the ones that waited).
        self.world.fault("DescribeInstances", "slow", count=6, delay_ms=DELAY_MS)
        result = self.run_playbook(env={"DEADBOLT_MAX_CONCURRENT": "2"})
        calls = [l for l in result.lines if l["event"] == "aws_call"]
        for c in calls:
            self.assertLessEqual(c["start_ms"], c["sent_ms"], c)
            self.assertLessEqual(c["sent_ms"], c["end_ms"], c)
        six = [c for c in calls if c["op"] == "ec2.DescribeInstances"]
        self.assertEqual(len(six), 6)
        self.assertLess(max(c["start_ms"] for c in six) - min(c["start_ms"] for c in six), DELAY_MS / 2, six)
        waited = [c for c in six if c["sent_ms"] - c["start_ms"] >= DELAY_MS * 0.9]
        self.assertEqual(len(waited), 4, six)
        ends = sorted(c["end_ms"] for c in six)
        for c in waited:  # sent only once an earlier one was answered
            self.assertGreaterEqual(c["sent_ms"] + 1, ends[0], c)

    def test_saves_are_in_sequential_order_whatever_order_answers_come(self):
        # a's answer comes last, b's second, c's first: the saves happen
        # c, b, a; a sequential run makes them a, b, c.
        # (wide margins: moto alone takes up to a few hundred ms an answer)
        self.world.fault("DescribeSecurityGroups", "slow", count=1, delay_ms=1600)
        self.world.fault("DescribeIamInstanceProfileAssociations", "slow", count=1, delay_ms=800)
        result = self.run_playbook(ftype="Test:EC2/Saves")
        step = [l for l in result.lines if l["event"] == "step" and l["step"] == "save"][0]
        self.assertEqual(list(step["saved"]), ["item_a", "last", "item_b", "item_c"])
        self.assertEqual(step["saved"]["last"], "c", "the value of the last save in sequential order")
        a, b, c = (self.calls(op)[0]["done"] for op in (
            "DescribeSecurityGroups", "DescribeIamInstanceProfileAssociations", "DescribeNetworkInterfaces"))
        self.assertLess(c, b)
        self.assertLess(b, a)


class TestChainFirst(OverlapCase):
    def test_chain_calls_go_before_older_calls_made_beside_it(self):
        # One EC2 request at a time. The chain (aws.first) is the third
        # function: its first call goes first, and its second, asked for
        # after the two beside it, still goes before them.
        result = self.run_playbook(ftype="Test:EC2/First", env={"DEADBOLT_MAX_CONCURRENT": "1"})
        step = [l for l in result.lines if l["event"] == "step"][0]
        self.assertEqual(step["status"], "ok", step)
        sent = [e["action"] for e in self.world.log() if e["service"] == "ec2"]
        self.assertEqual(sent[:2], ["DescribeSecurityGroups", "DescribeNetworkInterfaces"], sent)
        self.assertEqual(sorted(sent[2:]), ["DescribeInstances", "DescribeSnapshots", "DescribeVolumes"])
        # the journal keeps a sequential run's order
        ops = [l["op"] for l in result.lines if l["event"] == "aws_call"]
        self.assertEqual(ops, ["ec2.DescribeVolumes", "ec2.DescribeSnapshots", "ec2.DescribeInstances",
                               "ec2.DescribeSecurityGroups", "ec2.DescribeNetworkInterfaces"])


class TestRetriesInsideAll(OverlapCase):
    def test_backoff_is_a_timer_the_other_calls_go_on(self):
        # DescribeInstances is throttled twice, then answered; meanwhile the
        # other two, slow, are answered. A sleeping retry would hold them.
        self.world.fault("DescribeInstances", "throttle", count=2)
        self.world.fault("DescribeSnapshots", "slow", count=1, delay_ms=DELAY_MS)
        self.world.fault("DescribeVolumes", "slow", count=1, delay_ms=DELAY_MS)
        result = self.run_playbook(ftype="Test:EC2/Saves")
        tries = self.world.log("DescribeInstances")
        self.assertEqual([e["fault"] for e in tries], ["throttle", "throttle", None])
        others = self.calls("DescribeSnapshots") + self.calls("DescribeVolumes")
        self.assertEqual(len(others), 2)
        # Both others were sent before the first retry: they did not wait
        # for the throttled call's backoff.
        self.assertLess(max(e["time"] for e in others), tries[1]["time"])
        call = [l for l in result.lines if l["event"] == "aws_call" and l["op"] == "ec2.DescribeInstances"][0]
        self.assertEqual(call["attempts"], 3)
        self.assertIsNone(call["error"])

    def test_expired_token_is_refreshed_inside_all(self):
        # EC2's RequestExpired with a right clock and a session token: fresh
        # credentials once (as test_client_faults checks for a single call).
        self.world.fault("DescribeSnapshots", "expired", count=1)
        result = self.run_playbook(ftype="Test:EC2/Saves",
                                   env={"AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLETOKEN"})
        self.assertEqual([e["fault"] for e in self.world.log("DescribeSnapshots")], ["expired", None])
        step = [l for l in result.lines if l["event"] == "step" and l["step"] == "retried"][0]
        self.assertEqual(step["status"], "ok", step)


class TestBudgetsInsideAll(OverlapCase):
    def test_spinning_function_ends_by_the_budget_and_the_call_in_flight_is_cancelled(self):
        self.world.fault("DescribeVolumes", "slow", count=1, delay_ms=10000)
        result = self.run_playbook(ftype="Test:EC2/Spin", rc=1)
        step = [l for l in result.lines if l["event"] == "step"][0]
        self.assertEqual(step["status"], "failed")
        self.assertIn("budget exceeded: instructions", step["error"])
        call = [l for l in result.lines if l["event"] == "aws_call"][0]
        self.assertEqual((call["op"], call["error"]), ("ec2.DescribeVolumes", "Cancelled"))



class TestRulesInsideAll(OverlapCase):
    def test_rules_see_the_groups_created_by_calls_that_overlap(self):
        self.world.fault("CreateSecurityGroup", "slow", count=2, delay_ms=DELAY_MS)
        result = self.run_playbook(ftype="Test:EC2/Groups")
        step = [l for l in result.lines if l["event"] == "step"][0]
        self.assertEqual(step["status"], "ok", step)
        creates = self.calls("CreateSecurityGroup")
        self.assertLess(max(e["time"] for e in creates), min(e["done"] for e in creates), "not overlapped")
        groups = self.world.ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["deadbolt-test-a", "deadbolt-test-b"]}])["SecurityGroups"]
        self.assertEqual(len(groups), 2)
        for g in groups:  # the egress revoked, as boto3 sees it
            self.assertEqual(g["IpPermissionsEgress"], [], g)
        # The rules learnt each group from its create's answer: they did not
        # have to describe it (only the playbook's one lookup was sent).
        self.assertEqual(len(self.world.log("DescribeSecurityGroups")), 1)
