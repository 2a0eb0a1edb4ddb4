-- lib/forensics — the forensic commands on an instance over SSM Run Command,
-- with bounded waits: for the agent to be online, and for the commands to
-- end. Every wait is counted against the run's wall clock (sleep), so the
-- bounds in config.forensics must leave time for the steps after them.

local config = require "config"
local aws = require "lib.aws"

local cfg = config.forensics

local M = {}

-- The instance as SSM knows it, or nil when SSM does not manage it.
function M.agent(instance_id)
  local r = ssm.describe_instance_information {
    Filters = { { Key = "InstanceIds", Values = { instance_id } } },
  }
  return r.InstanceInformationList[1]
end

-- Polls check() every poll seconds until it returns a value, for at most
-- seconds. Returns that value, or nil when the time ran out. (A dry run
-- plans the wait and answers as if it were met: aws.wait.)
local function wait_for(seconds, poll, check)
  return aws.wait(seconds, poll, check)
end

-- The agent's information once it is online, or nil after agent_wait_seconds.
function M.wait_until_online(instance_id)
  return wait_for(cfg.agent_wait_seconds, cfg.poll_seconds, function()
    local info = M.agent(instance_id)
    return info and info.PingStatus == "Online" and info or nil
  end)
end

-- Sends the commands; their output goes to bucket/prefix (prefix nil: to no
-- bucket). Returns the command id.
function M.send(ctx, instance_id, bucket, prefix)
  local sent = ssm.send_command {
    DocumentName = cfg.document,
    InstanceIds = { instance_id },
    Comment = ("deadbolt forensics, finding " .. ctx.id):sub(1, 100),
    Parameters = { commands = cfg.commands, executionTimeout = { tostring(cfg.execution_timeout_seconds) } },
    OutputS3BucketName = prefix and bucket or nil,
    OutputS3KeyPrefix = prefix,
  }
  return sent.Command and sent.Command.CommandId
end

local FINISHED = { Success = true, Failed = true, Cancelled = true, TimedOut = true }

-- The invocation once it has finished, or nil after command_wait_seconds.
function M.wait_until_finished(command_id, instance_id)
  return wait_for(cfg.command_wait_seconds, cfg.poll_seconds, function()
    local inv, err = aws.try(ssm.get_command_invocation, { CommandId = command_id, InstanceId = instance_id })
    if not inv then
      if aws.is(err, "InvocationDoesNotExist") then -- not registered yet
        return nil
      end
      error(err)
    end
    return FINISHED[inv.Status] and inv or nil
  end)
end

-- What the evidence keeps of a finished invocation (SSM truncates the
-- output it returns; the agent's full output is under output_prefix).
function M.record(command_id, inv, output_prefix)
  return {
    command_id = command_id, document = cfg.document, commands = cfg.commands,
    status = inv.Status, response_code = inv.ResponseCode,
    started = inv.ExecutionStartDateTime, ended = inv.ExecutionEndDateTime,
    stdout = inv.StandardOutputContent, stderr = inv.StandardErrorContent,
    stdout_url = inv.StandardOutputUrl, stderr_url = inv.StandardErrorUrl,
    output_prefix = output_prefix,
  }
end

return M
