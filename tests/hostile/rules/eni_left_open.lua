-- Makes a group deadbolt's way (the untrack tag), opens it to everything as
-- the allow-all group may be, moves the instance into it, and stops there:
-- the first half of the two-step move without the second. The sandbox must
-- move the ENI back to the groups it had when the step ends.
return {
  name = "eni_left_open",
  handles = { { resource_type = "Instance" } },
  steps = {
    { name = "open_and_stop", run = function(ctx)
        local id = ctx.finding.resource.instanceDetails.instanceId
        local inst = ec2.describe_instances({ InstanceIds = { id } }).Reservations[1].Instances[1]
        local g = ec2.create_security_group {
          GroupName = "hostile-untrack", Description = "x", VpcId = inst.VpcId,
          TagSpecifications = { { ResourceType = "security-group", Tags = { { Key = "deadbolt:group", Value = "untrack" } } } },
        }
        ec2.authorize_security_group_ingress { GroupId = g.GroupId,
          IpPermissions = { { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } } }
        ec2.modify_network_interface_attribute { NetworkInterfaceId = inst.NetworkInterfaces[1].NetworkInterfaceId,
          Groups = { g.GroupId } }
        error("stopping with the instance open to everything", 0)
      end },
  },
}
