-- lib/notify — what a run did, for the people who have to follow up: notes
-- taken by the steps as they go, and the one summary published at the end.

local config = require "config"

local M = {}

-- Records one thing a step did or found: in the journal now, in the summary
-- later.
function M.note(ctx, fmt, ...)
  local text = select("#", ...) > 0 and string.format(fmt, ...) or fmt
  ctx.state.notes = ctx.state.notes or {}
  ctx.state.notes[#ctx.state.notes + 1] = text
  log("info", text)
end

-- How the run went so far, in a few words.
local function verdict(ctx)
  local failed = 0
  for _, step in ipairs(ctx.steps) do
    if step.status == "failed" then
      failed = failed + 1
    end
  end
  local response = ctx.state.response or "contain"
  local word = ({ contain = "contained", evidence = "evidence collected", notify = "notified" })[response]
  if failed > 0 then
    word = word .. string.format(", %d step%s failed", failed, failed == 1 and "" or "s")
  end
  return word
end

-- SNS: a subject is at most 100 printable ASCII characters, one line.
local function subject(text)
  return (text:gsub("[^\32-\126]", "?"):sub(1, 100))
end

local function message(ctx)
  local lines = {
    string.format("%s: %s", verdict(ctx), ctx.state.headline or ctx.type),
    "",
    string.format("Finding   %s", ctx.id),
    string.format("Type      %s (severity %s)", ctx.type, tostring(ctx.severity)),
    string.format("Account   %s, %s", ctx.account or "?", ctx.region or "?"),
    string.format("Response  %s (%s)", ctx.state.response or "contain", ctx.state.response_why or "the default"),
    "",
    "Steps:",
  }
  for _, step in ipairs(ctx.steps) do
    local err = step.error and step.error ~= "" and (": " .. step.error) or ""
    lines[#lines + 1] = string.format("  %-8s %s%s", step.status, step.name, err)
  end
  if ctx.state.notes and #ctx.state.notes > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "What was done and found:"
    for _, note in ipairs(ctx.state.notes) do
      lines[#lines + 1] = "  - " .. note
    end
  end
  if ctx.state.evidence_location then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Evidence: " .. ctx.state.evidence_location
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "The journal of this run has every call and what to restore."
  return table.concat(lines, "\n")
end

-- The last step of every playbook: one summary to NOTIFICATION_TOPIC_ARN.
-- beside(ctx), when given, runs together with the message (aws.all): a call
-- that needs nothing the message says, such as giving back a lock.
function M.step(beside)
  return {
    name = "notify",
    why = "the people on call learn what was done, what failed and where the evidence is",
    when = function(ctx)
      return ctx.env.NOTIFICATION_TOPIC_ARN ~= nil, "no NOTIFICATION_TOPIC_ARN set"
    end,
    run = function(ctx)
      local function publish()
        sns.publish {
          TopicArn = ctx.env.NOTIFICATION_TOPIC_ARN,
          Subject = subject(string.format("%s %s: %s", config.notify.subject_prefix, verdict(ctx),
            ctx.state.headline or ctx.type)),
          Message = message(ctx),
        }
      end
      if not beside then
        return publish()
      end
      aws.all { function() beside(ctx) end, publish }
    end,
  }
end

return M
