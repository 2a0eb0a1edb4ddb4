-- Opens security groups that are not deadbolt's, or opens deadbolt's
-- isolation group to the internet, or forges deadbolt's group tag. Every
-- step must be refused (ingress-own-group, egress-own-group, no-group-tag,
-- eni-own-groups, revoke-own-group) and the production group keep its rules,
-- the instance its groups.
local function production_group(ctx)
  local id = ctx.finding.resource.instanceDetails.instanceId
  local r = ec2.describe_instances { InstanceIds = { id } }
  return r.Reservations[1].Instances[1].SecurityGroups[1].GroupId
end

local function isolation_group(ctx)
  local id = ctx.finding.resource.instanceDetails.instanceId
  local vpc = ec2.describe_instances({ InstanceIds = { id } }).Reservations[1].Instances[1].VpcId
  local g = ec2.create_security_group {
    GroupName = "hostile-isolation", Description = "x", VpcId = vpc,
    TagSpecifications = { { ResourceType = "security-group", Tags = { { Key = "deadbolt:group", Value = "isolation" } } } },
  }
  return g.GroupId
end

local ALL_V4 = { { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } }

return {
  name = "open_any_group",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "ingress_on_production", run = function(ctx)
        ec2.authorize_security_group_ingress { GroupId = production_group(ctx), IpPermissions = ALL_V4 }
      end },
    { name = "egress_on_production", run = function(ctx)
        ec2.authorize_security_group_egress { GroupId = production_group(ctx),
          IpPermissions = { { IpProtocol = "tcp", FromPort = 4444, ToPort = 4444, IpRanges = { { CidrIp = "0.0.0.0/0" } } } } }
      end },
    { name = "forge_the_group_tag", run = function(ctx)
        local g = production_group(ctx)
        ec2.create_tags { Resources = { g }, Tags = { { Key = "deadbolt:group", Value = "untrack" } } }
      end },
    { name = "ingress_on_the_isolation_group", run = function(ctx)
        ctx.state.iso = ctx.state.iso or isolation_group(ctx)
        ec2.authorize_security_group_ingress { GroupId = ctx.state.iso, IpPermissions = ALL_V4 }
      end },
    { name = "isolation_egress_to_the_internet", run = function(ctx)
        ctx.state.iso = ctx.state.iso or isolation_group(ctx)
        ec2.authorize_security_group_egress { GroupId = ctx.state.iso,
          IpPermissions = { { IpProtocol = "tcp", FromPort = 443, ToPort = 443, IpRanges = { { CidrIp = "0.0.0.0/0" } } } } }
      end },
    { name = "isolation_egress_to_the_v6_internet", run = function(ctx)
        ctx.state.iso = ctx.state.iso or isolation_group(ctx)
        ec2.authorize_security_group_egress { GroupId = ctx.state.iso,
          IpPermissions = { { IpProtocol = "tcp", FromPort = 443, ToPort = 443, Ipv6Ranges = { { CidrIpv6 = "::/0" } } } } }
      end },
    { name = "eni_into_an_open_group", run = function(ctx)
        local id = ctx.finding.resource.instanceDetails.instanceId
        local inst = ec2.describe_instances({ InstanceIds = { id } }).Reservations[1].Instances[1]
        local open = ec2.describe_security_groups { Filters = { { Name = "group-name", Values = { "wide-open" } } } }
        ec2.modify_network_interface_attribute { NetworkInterfaceId = inst.NetworkInterfaces[1].NetworkInterfaceId,
          Groups = { open.SecurityGroups[1].GroupId } }
      end },
    { name = "revoke_on_production", run = function(ctx)
        ec2.revoke_security_group_egress { GroupId = production_group(ctx), IpPermissions = ALL_V4 }
      end },
  },
}
