"""The resource types the estimate prices at nothing, each with why: AWS charges nothing for
them, or their cost is counted with another resource's."""

from __future__ import annotations

from policy import types as t

NO_CHARGE = "AWS charges nothing for it"
IAM = "IAM charges nothing"
IN_VPC = "part of the VPC, which AWS charges nothing for (traffic is priced where it flows)"

FREE: dict[str, str] = {
    t.VPC: IN_VPC,
    t.SUBNET: IN_VPC,
    t.SG: IN_VPC,
    t.DEFAULT_SG: IN_VPC,
    t.INGRESS: IN_VPC,
    t.EGRESS: IN_VPC,
    t.ROUTE_TABLE: IN_VPC,
    t.ROUTE: IN_VPC,
    t.ROUTE_TABLE_ASSOCIATION: IN_VPC,
    t.IGW: f"{NO_CHARGE}; data out to the internet is transfer, not estimated",
    t.EGRESS_ONLY_IGW: f"{NO_CHARGE}; data out to the internet is transfer, not estimated",
    t.FLOW_LOG: "billed as its log group's ingestion and storage, priced there",
    t.LAUNCH_TEMPLATE: "priced through the Auto Scaling group that launches from it",
    t.SCALING_POLICY: NO_CHARGE,
    t.TARGET_GROUP: "part of the load balancer's hours and LCUs",
    t.LISTENER: "part of the load balancer's hours and LCUs",
    t.ROLE: IAM,
    t.ROLE_POLICY: IAM,
    t.ATTACHMENT: IAM,
    t.INSTANCE_PROFILE: IAM,
    t.SECRET_VERSION: "part of its secret's monthly price",
    t.SECRET_ROTATION: "rotation is free; its function runs a few times a month (negligible)",
    t.SSM_PARAMETER: "standard-tier parameters are free",
    t.EVENT_RULE: "rules on AWS service events and schedules are free",
    t.EVENT_TARGET: "rules on AWS service events and schedules are free",
    t.LAMBDA_PERMISSION: NO_CHARGE,
    t.INVOCATION: "one run of the function at deploy time",
    t.EVENT_SOURCE_MAPPING: "Lambda's reads of a DynamoDB stream are free; runs priced with it",
    t.TOPIC: "SNS: the first million publishes a month are free; alarms publish a few",
    t.TOPIC_SUBSCRIPTION: "SNS e-mail: the first 1,000 notifications a month are free",
    t.RDS_PARAMETERS: NO_CHARGE,
    t.RDS_SUBNET_GROUP: NO_CHARGE,
    t.CACHE_SUBNET_GROUP: NO_CHARGE,
    t.EFS_MOUNT_TARGET: "part of its file system's price",
    t.BUCKET_PAB: "a setting of its bucket",
    t.BUCKET_VERSIONING: "a setting of its bucket (old versions are stored, priced with it)",
    t.BUCKET_SSE: "a setting of its bucket (SSE-S3 is free)",
    t.BUCKET_POLICY: "a setting of its bucket",
    t.BUCKET_OWNERSHIP: "a setting of its bucket",
    t.BUCKET_LIFECYCLE: "a setting of its bucket (transitions are not used)",
    t.WAF_ACL_ASSOCIATION: "part of its web ACL's price",
}
"""Types the estimate lists at no cost, with why."""
