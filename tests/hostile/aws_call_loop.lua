-- Trick: call AWS in a loop, catching every error.
for i = 1, 1e6 do
  pcall(ec2.describe_instances, { InstanceIds = { "i-1" } })
end
return "swallowed"
