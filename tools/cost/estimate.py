"""The monthly cost of what a stack declares, per component, from the dated price table.

Each AWS resource type is either priced here (`PRICED`: a function of the declared resource, the
region's prices and the stated usage) or listed as free with why (`FREE`). Sizes come from the
plan: instance types and group sizes, RDS class, Multi-AZ and storage, cache nodes, subnets an
endpoint or load balancer spans. What the plan cannot say (GB stored, GB processed, requests) is
`prices.Usage`, printed with the estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from policy import types as t
from policy.props import as_list, truthy
from tools.cost.prices import HOURS, Prices
from tools.mockrun import Resource, Run


@dataclass(frozen=True)
class Item:
    component: str
    what: str
    monthly: float
    basis: str


class MissingPriceError(LookupError):
    """A declared resource whose size the price table has no figure for."""


@dataclass(frozen=True)
class Context:
    run: Run
    prices: Prices

    def price(self, table: dict[str, float], key: Any, what: str) -> float:
        if key not in table:
            raise MissingPriceError(f"no {what} price for {key!r} in {self.run.region}")
        return table[key]

    def ipv4(self, count: int, why: str) -> Item:
        hourly = self.prices.public_ipv4_hour
        basis = f"{count} x {HOURS} h x ${hourly}"
        return Item("", f"public IPv4 ({why})", count * HOURS * hourly, basis)


Pricer = Callable[[Resource, Context], Iterator[Item]]


def _instance(r: Resource, c: Context) -> Iterator[Item]:
    yield from _hosts(c, "NAT instance", 1, r.get("instanceType"), r.get("rootBlockDevice"))
    if r.get("associatePublicIpAddress"):
        yield c.ipv4(1, "NAT instance")


def _group(r: Resource, c: Context) -> Iterator[Item]:
    chosen = r.dependencies.get("launchTemplate", ())
    templates = [x for x in c.run.of_type(t.LAUNCH_TEMPLATE) if x.urn in chosen]
    template = templates[0] if templates else None
    count = int(r.get("desiredCapacity") or r.get("minSize") or 0)
    if template is None or not count:
        return
    volume = next((m.get("ebs") for m in as_list(template.get("blockDeviceMappings"))), None)
    what = f"{r.name} group, {count} of {r.get('minSize')}-{r.get('maxSize')}"
    yield from _hosts(c, what, count, template.get("instanceType"), volume)
    interfaces = as_list(template.get("networkInterfaces"))
    owner = c.run.component_of(r)
    claimed = [e for e in c.run.of_type(t.EIP) if owner and c.run.component_of(e) == owner]
    # A host that claims an Elastic IP gives back its launch address: the EIP is priced.
    if any(truthy(i.get("associatePublicIpAddress")) for i in interfaces) and not claimed:
        yield c.ipv4(count, f"{r.name} hosts")


def _hosts(c: Context, what: str, count: int, type_: Any, volume: Any) -> Iterator[Item]:
    hourly = c.price(c.prices.ec2_hour, type_, "EC2")
    yield Item("", f"{what}: {type_}", count * HOURS * hourly, f"{count} x {HOURS} h x ${hourly}")
    size = float((volume or {}).get("volumeSize") or 8)
    gb = c.prices.ebs_gp3_gb
    yield Item("", "EBS gp3 root volumes", count * size * gb, f"{count} x {size:g} GB x ${gb}")


def _rds(r: Resource, c: Context) -> Iterator[Item]:
    source = next((x for x in c.run.of_type(t.RDS) if not x.get("replicateSourceDb")), r)
    copies = 2 if r.get("multiAz") else 1
    hourly = c.price(c.prices.rds_hour, r.get("instanceClass"), "RDS")
    role = "read replica" if r.get("replicateSourceDb") else "primary"
    az = ", Multi-AZ" if copies == 2 else ""
    basis = f"{copies} x {HOURS} h x ${hourly}"
    yield Item("", f"RDS {role}: {r.get('instanceClass')}{az}", copies * HOURS * hourly, basis)
    size = float(source.get("allocatedStorage") or 20)
    gb = c.prices.rds_gp3_gb
    yield Item("", "RDS gp3 storage", copies * size * gb, f"{copies} x {size:g} GB x ${gb}")


def _cache(r: Resource, c: Context) -> Iterator[Item]:
    nodes = int(r.get("numCacheClusters") or 1)
    hourly = c.price(c.prices.cache_hour, r.get("nodeType"), "ElastiCache")
    basis = f"{nodes} x {HOURS} h x ${hourly}"
    yield Item("", f"ElastiCache: {nodes} x {r.get('nodeType')}", nodes * HOURS * hourly, basis)


def _nat(r: Resource, c: Context) -> Iterator[Item]:
    p, gb = c.prices, c.prices.usage.nat_gb
    basis = f"{HOURS} h x ${p.nat_hour} + {gb:g} GB x ${p.nat_gb}"
    yield Item("", "NAT gateway", HOURS * p.nat_hour + gb * p.nat_gb, basis)


def _eip(r: Resource, c: Context) -> Iterator[Item]:
    yield c.ipv4(1, "Elastic IP")


def _lb(r: Resource, c: Context) -> Iterator[Item]:
    p, lcu = c.prices, c.prices.usage.alb_lcu
    basis = f"{HOURS} h x (${p.alb_hour} + {lcu:g} LCU x ${p.alb_lcu_hour})"
    yield Item("", "load balancer", HOURS * (p.alb_hour + lcu * p.alb_lcu_hour), basis)
    if not r.get("internal"):
        yield c.ipv4(len(as_list(r.get("subnets"))), "load balancer, one per AZ")


def _efs(r: Resource, c: Context) -> Iterator[Item]:
    gb, price = c.prices.usage.efs_gb, c.prices.efs_standard_gb
    yield Item("", f"EFS {r.name}, Standard", gb * price, f"{gb:g} GB x ${price}")


def _efs_backup(r: Resource, c: Context) -> Iterator[Item]:
    if (r.get("backupPolicy") or {}).get("status") == "ENABLED":
        gb, price = c.prices.usage.efs_gb, c.prices.backup_efs_gb
        yield Item("", f"AWS Backup of {r.name}", gb * price, f"{gb:g} GB x ${price}")


def _endpoint(r: Resource, c: Context) -> Iterator[Item]:
    if r.get("vpcEndpointType") != "Interface":
        return  # gateway endpoints (S3, DynamoDB) have no charge
    p, azs, gb = c.prices, len(as_list(r.get("subnetIds"))), c.prices.usage.endpoint_gb
    service = str(r.get("serviceName")).rsplit(".", 1)[-1]
    basis = f"{azs} AZ x {HOURS} h x ${p.endpoint_az_hour} + {gb:g} GB x ${p.endpoint_gb}"
    yield Item(
        "",
        f"interface endpoint {service}",
        azs * HOURS * p.endpoint_az_hour + gb * p.endpoint_gb,
        basis,
    )


def _flat(what: str, price: Callable[[Prices], float]) -> Pricer:
    def pricer(r: Resource, c: Context) -> Iterator[Item]:
        yield Item("", what, price(c.prices), f"${price(c.prices)} a month")

    return pricer


def _log_group(r: Resource, c: Context) -> Iterator[Item]:
    u, p = c.prices.usage, c.prices
    flows = any(r.urn in f.waits_for for f in c.run.of_type(t.FLOW_LOG))
    gb = u.flow_log_gb if flows else u.log_gb
    months = min(float(r.get("retentionInDays") or 30) / 30, 12)
    monthly = gb * p.log_ingest_gb + gb * months * p.log_store_gb
    basis = f"{gb:g} GB x ${p.log_ingest_gb} + {gb * months:.1f} GB kept x ${p.log_store_gb}"
    yield Item("", f"log group {r.name}", monthly, basis)


def _function(r: Resource, c: Context) -> Iterator[Item]:
    runs = HOURS * 60 * _per_minute(c.run, r)
    p, seconds = c.prices, c.prices.usage.lambda_seconds
    gb_seconds = runs * seconds * float(r.get("memorySize") or 128) / 1024
    monthly = runs / 1e6 * p.lambda_million_requests + gb_seconds * p.lambda_gb_second
    basis = f"{runs:,.0f} runs x {seconds:g} s; negligible"
    yield Item("", f"Lambda {r.name}", monthly, basis)


def _per_minute(run: Run, function: Resource) -> float:
    """Scheduled runs per minute of `function` (its `rate(N minutes)` rules)."""
    rate = 0.0
    for rule in run.of_type(t.EVENT_RULE):
        expression = str(rule.get("scheduleExpression") or "")
        if rule.name.startswith(function.name) and expression.startswith("rate("):
            rate += 1 / float(expression.removeprefix("rate(").split()[0])
    return rate


def _table(r: Resource, c: Context) -> Iterator[Item]:
    """On demand: the vip nodes' reports (one write each `report_seconds`), the lease's writes."""
    nodes = 0
    for function in c.run.of_type(t.FUNCTION):
        environment = function.dependencies.get("environment", ())
        if r.urn in environment:
            groups = [g for g in c.run.of_type(t.ASG) if g.urn in environment]
            nodes += sum(int(g.get("desiredCapacity") or g.get("minSize") or 0) for g in groups)
    writes = nodes * HOURS * 3600 / c.prices.usage.report_seconds + 2 * HOURS * 60
    price = c.prices.dynamodb_million_writes
    basis = f"{writes / 1e6:.2f} M writes x ${price} ({nodes} nodes' reports, the lease)"
    yield Item("", f"DynamoDB {r.name}, on demand", writes / 1e6 * price, basis)


def _bucket(r: Resource, c: Context) -> Iterator[Item]:
    gb, price = c.prices.usage.access_log_gb, c.prices.s3_standard_gb
    yield Item("", f"S3 {r.name}", gb * price, f"{gb:g} GB x ${price}")


def _waf(r: Resource, c: Context) -> Iterator[Item]:
    p, u = c.prices, c.prices.usage
    rules = len(as_list(r.get("rules"))) or u.waf_rules
    monthly = (
        p.waf_acl_month + rules * p.waf_rule_month + u.waf_million_requests * p.waf_million_requests
    )
    requests = u.waf_million_requests
    basis = (
        f"${p.waf_acl_month} + {rules} rules x ${p.waf_rule_month}"
        f" + {requests:g} M requests x ${p.waf_million_requests}"
    )
    yield Item("", "WAF web ACL", monthly, basis)


PRICED: dict[str, Pricer] = {
    t.INSTANCE: _instance,
    t.ASG: _group,
    t.RDS: _rds,
    t.CACHE: _cache,
    t.NAT_GATEWAY: _nat,
    t.EIP: _eip,
    t.LB: _lb,
    t.EFS: _efs,
    t.EFS_BACKUP: _efs_backup,
    t.VPC_ENDPOINT: _endpoint,
    t.KMS_KEY: _flat("KMS key", lambda p: p.kms_key_month),
    t.SECRET: _flat("Secrets Manager secret", lambda p: p.secret_month),
    t.ALARM: _flat("CloudWatch alarm", lambda p: p.alarm_month),
    t.DASHBOARD: _flat("CloudWatch dashboard", lambda p: p.dashboard_month),
    t.LOG_GROUP: _log_group,
    t.FUNCTION: _function,
    t.DYNAMODB_TABLE: _table,
    t.BUCKET: _bucket,
    t.WAF_ACL: _waf,
}
"""The resource types that cost money by themselves, and how."""
