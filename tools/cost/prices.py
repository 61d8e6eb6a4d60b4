"""The dated price table the cost estimate reads, per region, and the usage it assumes.

Source: the AWS Price List (the public pricing pages of each service, on-demand, Linux, USD,
no free tier, no Savings Plans or reservations), taken 2026-12-07 from figures published for
eu-west-1 (Ireland). TO BE REFRESHED before each use for a budget: AWS changes prices without
notice, and a region's figures differ from another's. A stack in a region missing here gets
no estimate (the CLI says so) rather than another region's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TAKEN = "2026-12-07"
SOURCE = "AWS Price List / pricing pages, on-demand USD, no free tier"
HOURS = 730
"""Hours in the average month, as AWS's own calculator bills."""


@dataclass(frozen=True)
class Usage:
    """What the estimate assumes where the plan cannot say: the usage a figure depends on."""

    efs_gb: float = 10.0
    """GB stored per EFS file system (and kept again in its AWS Backup copies)."""
    nat_gb: float = 50.0
    """GB per month through each NAT gateway (packages, image pulls, API calls)."""
    alb_lcu: float = 1.0
    """Load balancer capacity units used on average each hour (a quiet site)."""
    endpoint_gb: float = 5.0
    """GB per month through each interface endpoint."""
    log_gb: float = 2.0
    """GB ingested per month per log group (flow logs: `flow_log_gb`)."""
    flow_log_gb: float = 10.0
    waf_million_requests: float = 10.0
    waf_rules: int = 5
    access_log_gb: float = 5.0
    """GB kept in the load balancer's access-log bucket."""
    lambda_seconds: float = 1.0
    """Seconds each run of the failover function takes."""
    report_seconds: float = 5.0
    """How often each vip node's agent writes its report to DynamoDB (at least every 5 s)."""


@dataclass(frozen=True)
class Prices:
    """One region's figures, USD. Hourly figures per hour, storage per GB-month."""

    ec2_hour: dict[str, float]
    rds_hour: dict[str, float]
    """Single-AZ; Multi-AZ (one standby) bills twice."""
    cache_hour: dict[str, float]
    ebs_gp3_gb: float
    rds_gp3_gb: float
    """Single-AZ; Multi-AZ bills twice."""
    nat_hour: float
    nat_gb: float
    alb_hour: float
    alb_lcu_hour: float
    public_ipv4_hour: float
    endpoint_az_hour: float
    endpoint_gb: float
    efs_standard_gb: float
    backup_efs_gb: float
    kms_key_month: float
    secret_month: float
    alarm_month: float
    dashboard_month: float
    log_ingest_gb: float
    log_store_gb: float
    custom_metric_month: float
    s3_standard_gb: float
    waf_acl_month: float
    waf_rule_month: float
    waf_million_requests: float
    lambda_million_requests: float
    lambda_gb_second: float
    dynamodb_million_writes: float
    dynamodb_million_reads: float
    usage: Usage = field(default_factory=Usage)


PRICES: dict[str, Prices] = {
    "eu-west-1": Prices(
        ec2_hour={
            "t3.micro": 0.0114,
            "t3.small": 0.0228,
            "t3.medium": 0.0456,
            "t3.large": 0.0912,
            "t4g.micro": 0.0092,
            "t4g.small": 0.0184,
            "t4g.medium": 0.0368,
            "m7g.large": 0.0912,
            "m6i.large": 0.107,
        },
        rds_hour={
            "db.t4g.micro": 0.018,
            "db.t4g.small": 0.036,
            "db.t4g.medium": 0.072,
            "db.t4g.large": 0.144,
            "db.m7g.large": 0.182,
            "db.m6g.large": 0.170,
        },
        cache_hour={
            "cache.t4g.micro": 0.0176,
            "cache.t4g.small": 0.036,
            "cache.t4g.medium": 0.072,
            "cache.m7g.large": 0.173,
        },
        ebs_gp3_gb=0.088,
        rds_gp3_gb=0.127,
        nat_hour=0.048,
        nat_gb=0.048,
        alb_hour=0.0252,
        alb_lcu_hour=0.008,
        public_ipv4_hour=0.005,
        endpoint_az_hour=0.011,
        endpoint_gb=0.01,
        efs_standard_gb=0.33,
        backup_efs_gb=0.055,
        kms_key_month=1.0,
        secret_month=0.40,
        alarm_month=0.10,
        dashboard_month=3.0,
        log_ingest_gb=0.57,
        log_store_gb=0.03,
        custom_metric_month=0.30,
        s3_standard_gb=0.023,
        waf_acl_month=5.0,
        waf_rule_month=1.0,
        waf_million_requests=0.60,
        lambda_million_requests=0.20,
        lambda_gb_second=0.0000166667,
        dynamodb_million_writes=0.7068,
        dynamodb_million_reads=0.1413,
    ),
}
