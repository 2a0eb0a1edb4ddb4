"""The responses behind tests/vectors/decode/: hand-written ones and a moto
session. Used by tools/gen_decode_vectors.py (see there)."""

import os
import socket
import subprocess
import sys
import time

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"

# ---- hand-written: successes ------------------------------------------------

EC2_DESCRIBE_INSTANCES = """<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="%s">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>
        <item>
            <reservationId>r-1234567890abcdef0</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-1234567890abcdef0</instanceId>
                    <imageId>ami-bff32ccc</imageId>
                    <instanceState>
                        <code>16</code>
                        <name>running</name>
                    </instanceState>
                    <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                    <dnsName>ec2-54-194-252-215.eu-west-1.compute.amazonaws.com</dnsName>
                    <reason/>
                    <keyName>my_keypair</keyName>
                    <amiLaunchIndex>0</amiLaunchIndex>
                    <productCodes/>
                    <instanceType>t2.micro</instanceType>
                    <launchTime>2018-05-08T16:46:19.000Z</launchTime>
                    <placement>
                        <availabilityZone>eu-west-1c</availabilityZone>
                        <groupName/>
                        <tenancy>default</tenancy>
                    </placement>
                    <monitoring>
                        <state>disabled</state>
                    </monitoring>
                    <subnetId>subnet-56f5f633</subnetId>
                    <vpcId>vpc-11112222</vpcId>
                    <privateIpAddress>192.168.1.88</privateIpAddress>
                    <ipAddress>54.194.252.215</ipAddress>
                    <sourceDestCheck>true</sourceDestCheck>
                    <groupSet>
                        <item>
                            <groupId>sg-e4076980</groupId>
                            <groupName>SecurityGroup1</groupName>
                        </item>
                        <item>
                            <groupId>sg-0598c7d356eba48d7</groupId>
                            <groupName>quarantine &amp; "evidence" &lt;x&gt;</groupName>
                        </item>
                    </groupSet>
                    <architecture>x86_64</architecture>
                    <rootDeviceType>ebs</rootDeviceType>
                    <rootDeviceName>/dev/xvda</rootDeviceName>
                    <blockDeviceMapping>
                        <item>
                            <deviceName>/dev/xvda</deviceName>
                            <ebs>
                                <volumeId>vol-1234567890abcdef0</volumeId>
                                <status>attached</status>
                                <attachTime>2015-12-22T10:44:09.000Z</attachTime>
                                <deleteOnTermination>true</deleteOnTermination>
                            </ebs>
                        </item>
                    </blockDeviceMapping>
                    <virtualizationType>hvm</virtualizationType>
                    <clientToken>xMcwG14507example</clientToken>
                    <tagSet>
                        <item>
                            <key>Name</key>
                            <value>Server_1</value>
                        </item>
                        <item>
                            <key>unicode</key>
                            <value>caf\u00e9 \u2603 \U0001F600</value>
                        </item>
                    </tagSet>
                    <hypervisor>xen</hypervisor>
                    <networkInterfaceSet>
                        <item>
                            <networkInterfaceId>eni-551ba033</networkInterfaceId>
                            <subnetId>subnet-56f5f633</subnetId>
                            <vpcId>vpc-11112222</vpcId>
                            <description>Primary network interface</description>
                            <ownerId>123456789012</ownerId>
                            <status>in-use</status>
                            <macAddress>02:dd:2c:5e:01:69</macAddress>
                            <privateIpAddress>192.168.1.88</privateIpAddress>
                            <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                            <sourceDestCheck>true</sourceDestCheck>
                            <groupSet>
                                <item>
                                    <groupId>sg-e4076980</groupId>
                                    <groupName>SecurityGroup1</groupName>
                                </item>
                            </groupSet>
                            <attachment>
                                <attachmentId>eni-attach-39697adc</attachmentId>
                                <deviceIndex>0</deviceIndex>
                                <status>attached</status>
                                <attachTime>2018-05-08T16:46:19.000Z</attachTime>
                                <deleteOnTermination>true</deleteOnTermination>
                            </attachment>
                            <association>
                                <publicIp>54.194.252.215</publicIp>
                                <publicDnsName>ec2-54-194-252-215.eu-west-1.compute.amazonaws.com</publicDnsName>
                                <ipOwnerId>amazon</ipOwnerId>
                            </association>
                            <privateIpAddressesSet>
                                <item>
                                    <privateIpAddress>192.168.1.88</privateIpAddress>
                                    <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                                    <primary>true</primary>
                                    <association>
                                    <publicIp>54.194.252.215</publicIp>
                                    <publicDnsName>ec2-54-194-252-215.eu-west-1.compute.amazonaws.com</publicDnsName>
                                    <ipOwnerId>amazon</ipOwnerId>
                                    </association>
                                </item>
                            </privateIpAddressesSet>
                            <ipv6AddressesSet>
                               <item>
                                   <ipv6Address>2001:db8:1234:1a2b::123</ipv6Address>
                               </item>
                           </ipv6AddressesSet>
                        </item>
                    </networkInterfaceSet>
                    <iamInstanceProfile>
                        <arn>arn:aws:iam::123456789012:instance-profile/AdminRole</arn>
                        <id>ABCAJEDNCAA64SSD123AB</id>
                    </iamInstanceProfile>
                    <ebsOptimized>false</ebsOptimized>
                    <cpuOptions>
                        <coreCount>1</coreCount>
                        <threadsPerCore>1</threadsPerCore>
                    </cpuOptions>
                    <metadataOptions>
                        <state>applied</state>
                        <httpTokens>required</httpTokens>
                        <httpPutResponseHopLimit>2</httpPutResponseHopLimit>
                        <httpEndpoint>enabled</httpEndpoint>
                    </metadataOptions>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
</DescribeInstancesResponse>""" % EC2_NS

EC2_DESCRIBE_INSTANCES_EMPTY = """<DescribeInstancesResponse xmlns="%s">
  <requestId>fdcdcab1-ae5c-489e-9c33-4637c5dda355</requestId>
  <reservationSet/>
</DescribeInstancesResponse>""" % EC2_NS

# Prefixed names: botocore drops the namespace, so must deadbolt.
EC2_PREFIXED = """<ec2:DescribeSecurityGroupsResponse xmlns:ec2="%s">
  <ec2:requestId>59dbff89-35bd-4eac-99ed-be587example</ec2:requestId>
  <ec2:securityGroupInfo>
    <ec2:item>
      <ec2:ownerId>123456789012</ec2:ownerId>
      <ec2:groupId>sg-1a2b3c4d</ec2:groupId>
      <ec2:groupName>WebServers</ec2:groupName>
      <ec2:groupDescription>Web Servers</ec2:groupDescription>
      <ec2:vpcId>vpc-614cc409</ec2:vpcId>
      <ec2:ipPermissions>
        <ec2:item>
          <ec2:ipProtocol>-1</ec2:ipProtocol>
          <ec2:groups>
            <ec2:item>
              <ec2:userId>123456789012</ec2:userId>
              <ec2:groupId>sg-1a2b3c4d</ec2:groupId>
            </ec2:item>
          </ec2:groups>
          <ec2:ipRanges/>
          <ec2:ipv6Ranges/>
          <ec2:prefixListIds/>
        </ec2:item>
        <ec2:item>
          <ec2:ipProtocol>tcp</ec2:ipProtocol>
          <ec2:fromPort>22</ec2:fromPort>
          <ec2:toPort>22</ec2:toPort>
          <ec2:groups/>
          <ec2:ipRanges>
            <ec2:item>
              <ec2:cidrIp>204.246.162.38/32</ec2:cidrIp>
              <ec2:description>ssh from the office</ec2:description>
            </ec2:item>
          </ec2:ipRanges>
        </ec2:item>
      </ec2:ipPermissions>
      <ec2:ipPermissionsEgress>
        <ec2:item>
          <ec2:ipProtocol>-1</ec2:ipProtocol>
          <ec2:fromPort>-1</ec2:fromPort>
          <ec2:toPort>-1</ec2:toPort>
          <ec2:ipRanges>
            <ec2:item><ec2:cidrIp>0.0.0.0/0</ec2:cidrIp></ec2:item>
          </ec2:ipRanges>
        </ec2:item>
      </ec2:ipPermissionsEgress>
    </ec2:item>
  </ec2:securityGroupInfo>
</ec2:DescribeSecurityGroupsResponse>""" % EC2_NS

EC2_SCREENSHOT = """<GetConsoleScreenshotResponse xmlns="%s">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <imageData>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==</imageData>
  <instanceId>i-1234567890abcdef0</instanceId>
</GetConsoleScreenshotResponse>""" % EC2_NS

# Timestamps as AWS and proxies write them: fractions, offsets, none.
EC2_SNAPSHOTS = """<DescribeSnapshotsResponse xmlns="%s">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <snapshotSet>
      <item>
         <snapshotId>snap-1234567890abcdef0</snapshotId>
         <volumeId>vol-1234567890abcdef0</volumeId>
         <status>pending</status>
         <startTime>2026-11-27T19:04:05.123456Z</startTime>
         <progress>80%%</progress>
         <ownerId>111122223333</ownerId>
         <volumeSize>15</volumeSize>
         <description>Daily Backup</description>
         <encrypted>true</encrypted>
         <kmsKeyId>arn:aws:kms:us-east-1:123456789012:key/6876fb1b-example</kmsKeyId>
         <fullSnapshotSizeInBytes>9007199254740993</fullSnapshotSizeInBytes>
         <tagSet>
            <item><key>Purpose</key><value>demo_db_14_backup</value></item>
         </tagSet>
      </item>
      <item>
         <snapshotId>snap-0000000000000000b</snapshotId>
         <volumeId>vol-0000000000000000b</volumeId>
         <status>completed</status>
         <startTime>2026-11-27T21:04:05+02:00</startTime>
         <completionTime>2026-11-27T19:04:05Z</completionTime>
         <restoreExpiryTime>2026-12-31T23:59:59.999-05:00</restoreExpiryTime>
         <volumeSize>8</volumeSize>
         <encrypted>false</encrypted>
         <tagSet/>
      </item>
      <item>
         <snapshotId>snap-0000000000000000c</snapshotId>
         <startTime>1969-12-31T23:59:59.5Z</startTime>
         <completionTime>2000-02-29T00:00:00</completionTime>
         <volumeSize>-3</volumeSize>
         <encrypted>TRUE</encrypted>
      </item>
   </snapshotSet>
</DescribeSnapshotsResponse>""" % EC2_NS

EC2_CREATE_SNAPSHOT = """<CreateSnapshotResponse xmlns="%s">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <snapshotId>snap-01234567890abcdef</snapshotId>
  <volumeId>vol-1234567890abcdef0</volumeId>
  <status>pending</status>
  <startTime>2026-11-27T19:04:05.000Z</startTime>
  <progress></progress>
  <ownerId>111122223333</ownerId>
  <volumeSize>30</volumeSize>
  <encrypted>false</encrypted>
  <description>deadbolt evidence</description>
  <tagSet>
    <item><key>deadbolt:finding</key><value>abc123</value></item>
  </tagSet>
</CreateSnapshotResponse>""" % EC2_NS

EC2_ASSOCIATE_IIP = """<AssociateIamInstanceProfileResponse xmlns="%s">
    <requestId>e10deeaf-7cda-48e7-950b-example</requestId>
    <iamInstanceProfileAssociation>
        <associationId>iip-assoc-0e7736511a163c209</associationId>
        <iamInstanceProfile>
            <arn>arn:aws:iam::123456789012:instance-profile/admin-role</arn>
            <id>AIPAJBLK7RKJKWDXVHIEC</id>
        </iamInstanceProfile>
        <instanceId>i-123456789abcde123</instanceId>
        <state>associating</state>
    </iamInstanceProfileAssociation>
</AssociateIamInstanceProfileResponse>""" % EC2_NS

EC2_MODIFY_RETURN = """<ModifyInstanceAttributeResponse xmlns="%s">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <return>true</return>
</ModifyInstanceAttributeResponse>""" % EC2_NS

ELBV2_TARGET_GROUPS = """<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <DescribeTargetGroupsResult>
    <TargetGroups>
      <member>
        <TargetGroupArn>arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067</TargetGroupArn>
        <HealthCheckTimeoutSeconds>5</HealthCheckTimeoutSeconds>
        <HealthCheckPort>traffic-port</HealthCheckPort>
        <Matcher>
          <HttpCode>200</HttpCode>
        </Matcher>
        <TargetGroupName>my-targets</TargetGroupName>
        <HealthCheckProtocol>HTTP</HealthCheckProtocol>
        <HealthCheckPath>/</HealthCheckPath>
        <Protocol>HTTP</Protocol>
        <Port>80</Port>
        <VpcId>vpc-3ac0fb5f</VpcId>
        <HealthyThresholdCount>5</HealthyThresholdCount>
        <HealthCheckIntervalSeconds>30</HealthCheckIntervalSeconds>
        <LoadBalancerArns>
          <member>arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/50dc6c495c0c9188</member>
        </LoadBalancerArns>
        <UnhealthyThresholdCount>2</UnhealthyThresholdCount>
      </member>
    </TargetGroups>
  </DescribeTargetGroupsResult>
  <ResponseMetadata>
    <RequestId>70092c0e-f3a9-11e5-ae48-cff02092876b</RequestId>
  </ResponseMetadata>
</DescribeTargetGroupsResponse>"""

AUTOSCALING_DETACH = """<DetachInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
  <DetachInstancesResult>
    <Activities>
      <member>
        <ActivityId>e54ff599-bf05-4076-8b95-a0f090ed90bb</ActivityId>
        <Progress>50</Progress>
        <StatusCode>InProgress</StatusCode>
        <StartTime>2014-06-14T00:07:30.280Z</StartTime>
        <Cause>At 2014-06-14T00:07:30Z instance i-5f2e8a0d was detached in response to a user request.</Cause>
        <Details>{"Availability Zone":"us-east-1a"}</Details>
        <Description>Detaching EC2 instance: i-5f2e8a0d</Description>
        <AutoScalingGroupName>my-asg</AutoScalingGroupName>
      </member>
    </Activities>
  </DetachInstancesResult>
  <ResponseMetadata>
    <RequestId>e04f3b11-f357-11e3-a434-7f10009d5849</RequestId>
  </ResponseMetadata>
</DetachInstancesResponse>"""

IAM_PUT_USER_POLICY = """<PutUserPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ResponseMetadata>
    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
  </ResponseMetadata>
</PutUserPolicyResponse>"""

IAM_GET_USER_POLICY = """<GetUserPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
<GetUserPolicyResult>
  <UserName>Bob</UserName>
  <PolicyName>AWSRevokeOlderSessions</PolicyName>
  <PolicyDocument>{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-27T19:04:05Z"}}}}</PolicyDocument>
</GetUserPolicyResult>
<ResponseMetadata>
  <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
</ResponseMetadata>
</GetUserPolicyResponse>"""

# No ResponseMetadata in the body: the header gives the request id.
STS_CALLER_NO_METADATA = """<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
   <Arn>arn:aws:sts::123456789012:assumed-role/my-role-name/my-role-session-name</Arn>
    <UserId>ARO123EXAMPLE123:my-role-session-name</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
</GetCallerIdentityResponse>"""

SSM_INSTANCE_INFORMATION = """{
  "InstanceInformationList": [
    {
      "InstanceId": "i-1234567890abcdef0",
      "PingStatus": "Online",
      "LastPingDateTime": 1.700000000123E9,
      "AgentVersion": "3.3.40.0",
      "IsLatestVersion": false,
      "PlatformType": "Linux",
      "PlatformName": "Amazon Linux",
      "PlatformVersion": "2023",
      "ResourceType": "EC2Instance",
      "IPAddress": "10.0.0.12",
      "ComputerName": "ip-10-0-0-12.ec2.internal",
      "AssociationStatus": "Success",
      "LastAssociationExecutionDate": 1700000000,
      "LastSuccessfulAssociationExecutionDate": 1700000000.5,
      "RegistrationDate": null,
      "AssociationOverview": {
        "DetailedStatus": "Success",
        "InstanceAssociationStatusAggregatedCount": {"Success": 3, "Failed": 0}
      },
      "Name": "caf\\u00e9 \\ud83d\\ude00 \\"quoted\\" \\\\ \\/",
      "UnknownFutureMember": {"a": [1, 2, 3]}
    },
    {
      "InstanceId": "mi-0123456789abcdef0",
      "PingStatus": "ConnectionLost",
      "LastPingDateTime": 1577836800,
      "IsLatestVersion": true,
      "ResourceType": "ManagedInstance",
      "AssociationOverview": null,
      "SourceId": "",
      "SourceType": "AWS::IoT::Thing"
    }
  ],
  "NextToken": null
}"""

SSM_SEND_COMMAND = """{"Command":{"CloudWatchOutputConfig":{"CloudWatchLogGroupName":"","CloudWatchOutputEnabled":false},
"CommandId":"a8d5d2b2-4a3e-4a39-9b5a-0123456789ab","Comment":"deadbolt evidence","CompletedCount":0,
"DeliveryTimedOutCount":0,"DocumentName":"AWS-RunShellScript","DocumentVersion":"$DEFAULT","ErrorCount":0,
"ExpiresAfter":1.764270245871E9,"InstanceIds":["i-1234567890abcdef0"],"MaxConcurrency":"50","MaxErrors":"0",
"NotificationConfig":{"NotificationArn":"","NotificationEvents":[],"NotificationType":""},"OutputS3BucketName":"",
"OutputS3KeyPrefix":"","OutputS3Region":"us-east-1","Parameters":{"commands":["uname -a","ps aux"]},
"RequestedDateTime":1.764263045871E9,"ServiceRole":"","Status":"Pending","StatusDetails":"Pending","TargetCount":1,
"Targets":[],"TimeoutSeconds":3600,"TriggeredAlarms":[]}}"""

S3_POLICY_STATUS = """<?xml version="1.0" encoding="UTF-8"?>
<PolicyStatus xmlns="%s">
   <IsPublic>true</IsPublic>
</PolicyStatus>""" % S3_NS

S3_PAB = """<?xml version="1.0" encoding="UTF-8"?>
<PublicAccessBlockConfiguration xmlns="%s">
  <BlockPublicAcls>true</BlockPublicAcls>
  <IgnorePublicAcls>true</IgnorePublicAcls>
  <BlockPublicPolicy>false</BlockPublicPolicy>
  <RestrictPublicBuckets>false</RestrictPublicBuckets>
</PublicAccessBlockConfiguration>""" % S3_NS

S3_HEAD_HEADERS = [
    ("x-amz-id-2", "ef8yU9AS1ed4OpIszj7UDNEHGran"),
    ("x-amz-request-id", "318BC8BC143432E5"),
    ("Last-Modified", "Fri, 27 Nov 2026 19:04:05 GMT"),
    ("ETag", '"fba9dede5f27731c9771645a39863328"'),
    ("Content-Length", "434234"),
    ("Content-Type", "text/plain"),
    ("Accept-Ranges", "bytes"),
    ("x-amz-meta-finding", "abc123"),
    ("x-amz-meta-Case", "Mixed Case Value"),
    ("x-amz-server-side-encryption", "aws:kms"),
    ("x-amz-version-id", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"),
    ("x-amz-missing-meta", "2"),
    ("x-amz-tagging-count", "3"),
    ("x-amz-object-lock-retain-until-date", "2027-01-01T00:00:00.000Z"),
]

# ---- synthetic: every shape the real operations do not use ---------------

SYN_QUERY = """<EverythingResponse xmlns="http://synthetic.example/doc/2020-01-01/">
  <EverythingResult>
    <Str>  spaced  </Str>
    <renamedThing>by locationName</renamedThing>
    <EmptyStr/>
    <Int> 42 </Int>
    <Negative>-7</Negative>
    <Long>9223372036854775807</Long>
    <Bool>true</Bool>
    <BoolFalse>yes</BoolFalse>
    <Dbl>3.5</Dbl>
    <Flt>1e-3</Flt>
    <When>2026-11-27T19:04:05.000Z</When>
    <WhenOffset>2026-11-28T01:34:05.250+06:30</WhenOffset>
    <WhenEpoch>1764270245.5</WhenEpoch>
    <WhenMicros>2026-11-27T19:04:05.999999Z</WhenMicros>
    <Data>aGVsbG8AwP8gd29ybGQ=</Data>
    <Wrapped><member>a</member><member>b</member><member></member></Wrapped>
    <Numbers><item>1</item><item>2</item><item>3</item></Numbers>
    <Empty></Empty>
    <Flat>one</Flat>
    <Str2>ignored</Str2>
    <Flat>two</Flat>
    <Thing kind="first"><Id>t1</Id><Count>1</Count><Tags><member>x</member></Tags></Thing>
    <Thing><Id>t2</Id><Count>2</Count></Thing>
    <Dict>
      <entry><key>apples</key><value>3</value></entry>
      <entry><key>pears</key><value>0</value></entry>
    </Dict>
    <Named>
      <entry><Name>k1</Name><Val>v1</Val></entry>
      <entry><Val>v2</Val><Name>k2</Name></entry>
    </Named>
    <FlatDict><key>fa</key><value>1</value></FlatDict>
    <FlatDict><key>fb</key><value>2</value></FlatDict>
    <Nested kind="inner-kind"><Id>n1</Id><Count>0</Count><Tags/></Nested>
  </EverythingResult>
  <ResponseMetadata><RequestId>syn-query-1</RequestId></ResponseMetadata>
</EverythingResponse>"""

SYN_JSON = """{"Str": "  spaced  ", "renamedThing": "by locationName", "EmptyStr": "",
 "Int": 42, "Negative": -7, "Long": 9223372036854775807, "Bool": true, "BoolFalse": false,
 "Dbl": 3.5, "Flt": 1e-3, "When": 1764270245, "WhenOffset": "2026-11-28T01:34:05.250+06:30",
 "WhenEpoch": 1764270245.5, "WhenMicros": 1764270245.999999,
 "Data": "aGVsbG8AwP8gd29ybGQ=", "Wrapped": ["a", "b", ""], "Numbers": [1, 2.0, 3],
 "Empty": [], "Flat": ["one", "two"], "Things": [{"Id": "t1", "kind": "first", "Count": 1}, {"Id": "t2"}],
 "Dict": {"apples": 3, "pears": 0}, "Named": {"k1": "v1"}, "FlatDict": {},
 "Nested": {"Id": "n1", "Count": 0, "Tags": []}, "Missing": null}"""

SYN_REST_BODY = """<HeadersOutput xmlns="http://synthetic.example/doc/2020-01-01/">
  <Nested kind="k"><Id>n1</Id><Count>5</Count></Nested>
  <Str>body string</Str>
  <Count>999</Count>
</HeadersOutput>"""

SYN_REST_HEADERS = [
    ("x-count", "12"),
    ("x-big", "-9007199254740993"),
    ("x-on", "true"),
    ("x-names", "a, b ,c"),
    ("x-seen", "Thu, 01 Jan 2026 00:00:00 GMT"),
    ("x-doc", "eyJrIjogWzEsIDIuNSwgInMiXSwgIm4iOiBudWxsfQ=="),
    ("x-meta-one", "1"),
    ("x-meta-two", "zwei"),
    ("x-amzn-requestid", "syn-rest-1"),
]

# ---- hand-written: errors ---------------------------------------------------

EC2_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1a2b3c4d' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"""

EC2_THROTTLE = """<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>5b0f3a3c-b0c4-4f4c-9d6e-example</RequestID></Response>"""

QUERY_ERROR = """<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The user policy with name AWSRevokeOlderSessions cannot be found.</Message>
  </Error>
  <RequestId>4f2b3a1e-8c1d-4a5e-9f7b-example</RequestId>
</ErrorResponse>"""

STS_THROTTLE = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>"""

S3_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchPublicAccessBlockConfiguration</Code><Message>The public access block configuration was not found</Message><BucketName>evidence</BucketName><RequestId>4442587FB7D0A2F9</RequestId><HostId>lzG+example</HostId></Error>"""

HTML_500 = """<html>
<head><title>500 Internal Server Error</title></head>
<body>
<center><h1>500 Internal Server Error</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<DescribeInstancesResponse><requestId>&lol4;</requestId></DescribeInstancesResponse>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DescribeInstancesResponse><requestId>&xxe;</requestId></DescribeInstancesResponse>"""


def handwritten_cases(mk):
    rid = [("x-amzn-requestid", "hdr-request-id-1")]
    cases = [
        mk("ec2_describe_instances_rich", "AWS documentation example, extended", "ec2",
           "DescribeInstances", 200, [], EC2_DESCRIBE_INSTANCES),
        mk("ec2_describe_instances_empty", "hand-written", "ec2", "DescribeInstances", 200, [],
           EC2_DESCRIBE_INSTANCES_EMPTY),
        mk("ec2_describe_security_groups_prefixed", "hand-written, namespace prefixes", "ec2",
           "DescribeSecurityGroups", 200, [], EC2_PREFIXED),
        mk("ec2_get_console_screenshot", "AWS documentation example", "ec2",
           "GetConsoleScreenshot", 200, [], EC2_SCREENSHOT),
        mk("ec2_describe_snapshots_timestamps", "hand-written timestamp forms", "ec2",
           "DescribeSnapshots", 200, [], EC2_SNAPSHOTS),
        mk("ec2_create_snapshot", "AWS documentation example", "ec2", "CreateSnapshot", 200, [],
           EC2_CREATE_SNAPSHOT),
        mk("ec2_associate_iam_instance_profile", "AWS documentation example", "ec2",
           "AssociateIamInstanceProfile", 200, [], EC2_ASSOCIATE_IIP),
        mk("ec2_modify_instance_attribute", "hand-written", "ec2", "ModifyInstanceAttribute",
           200, [], EC2_MODIFY_RETURN),
        mk("elbv2_describe_target_groups", "AWS documentation example", "elbv2",
           "DescribeTargetGroups", 200, [], ELBV2_TARGET_GROUPS),
        mk("autoscaling_detach_instances", "AWS documentation example", "autoscaling",
           "DetachInstances", 200, [], AUTOSCALING_DETACH),
        mk("iam_put_user_policy", "AWS documentation example", "iam", "PutUserPolicy", 200, [],
           IAM_PUT_USER_POLICY),
        mk("iam_get_user_policy", "hand-written", "iam", "GetUserPolicy", 200, [],
           IAM_GET_USER_POLICY),
        mk("sts_get_caller_identity_header_request_id", "hand-written", "sts",
           "GetCallerIdentity", 200, rid, STS_CALLER_NO_METADATA),
        mk("ssm_describe_instance_information", "hand-written (moto lacks it)", "ssm",
           "DescribeInstanceInformation", 200, rid, SSM_INSTANCE_INFORMATION),
        mk("ssm_send_command", "hand-written", "ssm", "SendCommand", 200, rid, SSM_SEND_COMMAND),
        mk("ssm_send_command_empty_body", "hand-written", "ssm", "SendCommand", 200, rid, ""),
        mk("s3_get_bucket_policy_status", "AWS documentation example", "s3",
           "GetBucketPolicyStatus", 200, [("x-amz-request-id", "A1B2C3D4E5F6")], S3_POLICY_STATUS),
        mk("s3_get_public_access_block", "AWS documentation example", "s3",
           "GetPublicAccessBlock", 200,
           [("x-amz-request-id", "A1B2C3D4E5F6"), ("x-amz-id-2", "host-id-2")], S3_PAB),
        mk("s3_get_public_access_block_empty_body", "hand-written", "s3", "GetPublicAccessBlock",
           200, [("x-amz-request-id", "A1B2C3D4E5F6")], ""),
        mk("s3_head_object_headers", "AWS documentation example, extended", "s3", "HeadObject",
           200, S3_HEAD_HEADERS, ""),
        mk("s3_put_object", "hand-written", "s3", "PutObject", 200,
           [("x-amz-request-id", "0A49CE4060975EAC"), ("x-amz-id-2", "host"),
            ("ETag", '"1b2cf535f27731c974343645a3985328"'),
            ("x-amz-version-id", "43jfkodU8493jnFJD9fjj3HHNVfdsQUIFDNsidf038jfdsjGFDSIRp"),
            ("x-amz-server-side-encryption", "AES256"), ("x-amz-object-size", "11")], ""),
        mk("s3_delete_public_access_block", "hand-written", "s3", "DeletePublicAccessBlock", 204,
           [("x-amz-request-id", "D1")], ""),
        mk("synthetic_query_everything", "synthetic model", "synthetic-query", "Everything", 200,
           [], SYN_QUERY),
        mk("synthetic_json_everything", "synthetic model", "synthetic-json", "Everything", 200,
           [("x-amzn-requestid", "syn-json-1")], SYN_JSON),
        mk("synthetic_rest_headers", "synthetic model", "synthetic-rest", "Headers", 206,
           SYN_REST_HEADERS, SYN_REST_BODY),
        mk("synthetic_rest_payload_blob", "synthetic model", "synthetic-rest", "Payload", 200,
           [("content-type", "application/octet-stream"), ("x-amz-request-id", "p1")],
           b"raw \x00\x01 bytes \xc3\xa9 <not xml>"),
        # errors in each protocol's own form
        mk("err_ec2_not_found", "AWS documentation example", "ec2", "DescribeInstances", 400, [],
           EC2_ERROR),
        mk("err_ec2_throttled_503", "hand-written", "ec2", "DescribeInstances", 503, [],
           EC2_THROTTLE),
        mk("err_query_no_such_entity", "AWS documentation example", "iam", "GetUserPolicy", 404,
           [], QUERY_ERROR),
        mk("err_query_throttling", "hand-written", "sts", "AssumeRole", 400, [], STS_THROTTLE),
        mk("err_s3_no_such_pab", "hand-written", "s3", "GetPublicAccessBlock", 404,
           [("x-amz-request-id", "4442587FB7D0A2F9"), ("x-amz-id-2", "lzG+example")], S3_ERROR),
        mk("err_s3_head_404", "hand-written", "s3", "HeadObject", 404,
           [("x-amz-request-id", "E1"), ("x-amz-id-2", "h")], ""),
        mk("err_s3_head_403", "hand-written", "s3", "HeadObject", 403,
           [("x-amz-request-id", "E2")], ""),
        mk("err_json_type_prefix", "hand-written", "ssm", "GetCommandInvocation", 400,
           [("x-amzn-requestid", "j1")],
           '{"__type":"com.amazonaws.ssm#InvocationDoesNotExist","message":"no such invocation"}'),
        mk("err_json_type_suffix", "hand-written", "ssm", "SendCommand", 400,
           [("x-amzn-requestid", "j2")],
           '{"__type":"InvalidDocument:http://internal.amazon.com/coral/com.amazonaws.ssm/",'
           '"Message":"document does not exist"}'),
        mk("err_json_header_only", "hand-written", "ssm", "SendCommand", 400,
           [("x-amzn-requestid", "j3"),
            ("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/")],
           '{"Message":"Rate exceeded"}'),
        # bodies that are not AWS errors
        mk("err_html_500", "nginx error page", "ec2", "DescribeInstances", 500, [], HTML_500,
           generic_excerpt="500 Internal Server Error 500 Internal Server Error nginx/1.25.3"),
        mk("err_empty_503", "hand-written", "ec2", "DescribeInstances", 503, [], "",
           generic_excerpt="Service Unavailable"),
        mk("err_truncated_400", "hand-written", "iam", "GetUserPolicy", 400,
           [("x-amzn-requestid", "t1")], "<ErrorResponse><Error><Code>Thrott",
           generic_excerpt="Thrott"),
        mk("err_json_not_json_502", "hand-written", "ssm", "SendCommand", 502,
           [("x-amzn-requestid", "j4")], "Bad Gateway\n", generic_excerpt="Bad Gateway"),
    ]
    # 2xx bodies that do not parse: deadbolt's own InvalidResponse
    for name, svc, op, body, why in [
        ("invalid_truncated_200", "ec2", "DescribeInstances",
         EC2_DESCRIBE_INSTANCES[:700], "does not parse"),
        ("invalid_billion_laughs_200", "ec2", "DescribeInstances", BILLION_LAUGHS, "DOCTYPE"),
        ("invalid_xxe_200", "ec2", "DescribeInstances", XXE, "DOCTYPE"),
        ("invalid_json_200", "ssm", "SendCommand", '{"Command": {', "does not parse"),
        ("invalid_not_an_integer_200", "ec2", "CreateSnapshot",
         EC2_CREATE_SNAPSHOT.replace("<volumeSize>30<", "<volumeSize>thirty<"), "not an integer"),
    ]:
        c = {"name": name, "source": "hand-written", "service": svc, "operation": op,
             "status": 200, "headers": [("x-amzn-requestid", "inv-1")],
             "body": body.encode(),
             "error": {"code": "InvalidResponse", "status": 200, "request_id": "inv-1",
                       "message_contains": why}}
        cases.append(c)
    return cases


# ---- moto -------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


class Recorder:
    def __init__(self, wanted):
        self.wanted = wanted
        self.seen = {}
        self.out = []

    def __call__(self, operation_model, response_dict, **kw):
        svc = operation_model.service_model.service_name
        op = operation_model.name
        if (svc, op) not in self.wanted:
            return
        ok = response_dict["status_code"] < 300
        key = (svc, op, ok)
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        if n >= 1:
            return
        self.out.append((svc, op, response_dict["status_code"],
                         list(response_dict["headers"].items()), response_dict["body"]))


def wanted_operations():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ops = set()
    with open(os.path.join(root, "tools", "operations.list")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                ops.add((parts[0], parts[1]))
    return ops


def try_call(fn, **kw):
    try:
        return fn(**kw)
    except Exception as e:  # errors are captured too
        print("  (expected or tolerated) %s: %s" % (fn.__name__, e), file=sys.stderr)
        return None


def drive_world(client):
    ec2, iam, s3 = client("ec2"), client("iam"), client("s3")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                             TagSpecifications=[{"ResourceType": "instance",
                                                 "Tags": [{"Key": "Name", "Value": "web"}]}])
    iid = inst["Instances"][0]["InstanceId"]
    vpc = inst["Instances"][0]["VpcId"]
    ec2.describe_instances(InstanceIds=[iid])
    try_call(ec2.describe_instances, InstanceIds=["i-00000000000000000"])
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "deadbolt", "Value": "contained"}])
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "deadbolt"}])
    vols = ec2.describe_volumes()["Volumes"]
    snap = ec2.create_snapshot(VolumeId=vols[0]["VolumeId"], Description="evidence")
    ec2.describe_snapshots(SnapshotIds=[snap["SnapshotId"]])
    sg = ec2.create_security_group(GroupName="quarantine", Description="q", VpcId=vpc)
    perm = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]}]
    ec2.authorize_security_group_ingress(GroupId=sg["GroupId"], IpPermissions=perm)
    ec2.authorize_security_group_egress(GroupId=sg["GroupId"], IpPermissions=perm)
    ec2.describe_security_groups(GroupIds=[sg["GroupId"]])
    ec2.revoke_security_group_ingress(GroupId=sg["GroupId"], IpPermissions=perm)
    ec2.revoke_security_group_egress(GroupId=sg["GroupId"], IpPermissions=perm)
    enis = ec2.describe_network_interfaces()["NetworkInterfaces"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=enis[0]["NetworkInterfaceId"],
                                           Groups=[sg["GroupId"]])
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[sg["GroupId"]])
    iam.create_instance_profile(InstanceProfileName="quarantine-profile")
    assoc = ec2.associate_iam_instance_profile(
        IamInstanceProfile={"Name": "quarantine-profile"}, InstanceId=iid)
    ec2.describe_iam_instance_profile_associations()
    ec2.disassociate_iam_instance_profile(
        AssociationId=assoc["IamInstanceProfileAssociation"]["AssociationId"])
    try_call(ec2.get_console_screenshot, InstanceId=iid)
    drive_iam(iam)
    drive_s3(s3)
    drive_others(client, iid, vpc, ami)


def drive_iam(iam):
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    iam.list_access_keys(UserName="bob")
    iam.update_access_key(UserName="bob", AccessKeyId=key, Status="Inactive")
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
    iam.put_user_policy(UserName="bob", PolicyName="deny", PolicyDocument=doc)
    iam.get_user_policy(UserName="bob", PolicyName="deny")
    iam.delete_user_policy(UserName="bob", PolicyName="deny")
    try_call(iam.get_user_policy, UserName="bob", PolicyName="deny")
    trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
             '{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="app", PolicyName="deny", PolicyDocument=doc)
    iam.get_role_policy(RoleName="app", PolicyName="deny")
    iam.delete_role_policy(RoleName="app", PolicyName="deny")


def drive_s3(s3):
    s3.create_bucket(Bucket="evidence")
    s3.put_object(Bucket="evidence", Key="cases/abc/notes.txt", Body=b"hello evidence",
                  Metadata={"finding": "abc123"}, ContentType="text/plain")
    s3.head_object(Bucket="evidence", Key="cases/abc/notes.txt")
    try_call(s3.head_object, Bucket="evidence", Key="missing")
    cfg = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
           "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket="evidence", PublicAccessBlockConfiguration=cfg)
    s3.get_public_access_block(Bucket="evidence")
    try_call(s3.get_bucket_policy_status, Bucket="evidence")
    s3.delete_public_access_block(Bucket="evidence")
    try_call(s3.get_public_access_block, Bucket="evidence")


def drive_others(client, iid, vpc, ami):
    sns, sts, ssm = client("sns"), client("sts"), client("ssm")
    topic = sns.create_topic(Name="deadbolt")["TopicArn"]
    sns.publish(TopicArn=topic, Message="contained i-1", Subject="deadbolt")
    sts.get_caller_identity()
    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="deadbolt")
    cmd = ssm.send_command(InstanceIds=[iid], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": ["uname -a"]})["Command"]["CommandId"]
    try_call(ssm.get_command_invocation, CommandId=cmd, InstanceId=iid)
    try_call(ssm.get_command_invocation, CommandId="00000000-0000-0000-0000-000000000000",
             InstanceId=iid)
    try_call(ssm.describe_instance_information)
    elb, elbv2, asg = client("elb"), client("elbv2"), client("autoscaling")
    elb.create_load_balancer(LoadBalancerName="web", AvailabilityZones=["us-east-1a"],
                             Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                         "InstancePort": 80}])
    elb.register_instances_with_load_balancer(LoadBalancerName="web",
                                              Instances=[{"InstanceId": iid}])
    elb.describe_load_balancers(LoadBalancerNames=["web"])
    elb.describe_instance_health(LoadBalancerName="web")
    elb.deregister_instances_from_load_balancer(LoadBalancerName="web",
                                                Instances=[{"InstanceId": iid}])
    tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": iid, "Port": 80}])
    elbv2.describe_target_groups(TargetGroupArns=[tg])
    elbv2.describe_target_health(TargetGroupArn=tg)
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": iid, "Port": 80}])
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=ami,
                                    InstanceType="t2.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="asg", LaunchConfigurationName="lc",
                                  MinSize=0, MaxSize=2, DesiredCapacity=1,
                                  AvailabilityZones=["us-east-1a"])
    inst = asg.describe_auto_scaling_instances()["AutoScalingInstances"]
    if inst:
        asg.detach_instances(AutoScalingGroupName="asg", InstanceIds=[inst[0]["InstanceId"]],
                             ShouldDecrementDesiredCapacity=True)
        asg.attach_instances(AutoScalingGroupName="asg", InstanceIds=[inst[0]["InstanceId"]])


def moto_cases(mk):
    import boto3
    from botocore.config import Config

    proc, url = start_moto()
    rec = Recorder(wanted_operations())
    try:
        sess = boto3.session.Session(aws_access_key_id="AKIDMOTO", aws_secret_access_key="s",
                                     region_name="us-east-1")

        def client(name):
            c = sess.client(name, endpoint_url=url,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
            c.meta.events.register("before-parse", rec)
            return c

        drive_world(client)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    cases = []
    for svc, op, status, headers, body in rec.out:
        kind = "ok" if status < 300 else "err%d" % status
        name = "moto_%s_%s_%s" % (svc, op, kind)
        cases.append(mk(name, "moto %s" % _moto_version(), svc, op, status, headers, body))
    return cases


def _moto_version():
    import moto
    return moto.__version__
