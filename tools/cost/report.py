"""A stack's estimate as lines: per component, the priced items with their basis and a
subtotal, the total, the usage assumed, what is not estimated, and the Elastic IP quota.

`section(run, neighbours)` is what the offline plan can print; `python -m tools.cost` prints it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields

from policy import types as t
from tools.cost.estimate import PRICED, Context, Item
from tools.cost.free import FREE
from tools.cost.prices import HOURS, PRICES, SOURCE, TAKEN, Prices
from tools.mockrun import Run

EIP_QUOTA = 5
"""Elastic IPs an account may allocate per region by default (EC2 service quotas)."""
STACKS_PER_REGION = 3
NOT_ESTIMATED = (
    "data transfer out to the internet and between AZs, the CloudWatch agent's custom metrics, "
    "API requests to KMS and Secrets Manager, RDS backups beyond the database's size, and any "
    "free tier or Savings Plan"
)


@dataclass(frozen=True)
class Estimate:
    stack: str
    region: str
    items: list[Item]
    unpriced: list[str]
    """AWS types declared that are neither priced nor listed free: a gap the tests catch."""

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)


def estimate(run: Run, prices: Prices | None = None) -> Estimate:
    prices = prices or PRICES[run.region]
    context = Context(run, prices)
    items: list[Item] = []
    unpriced: set[str] = set()
    for resource in sorted(run.resources, key=lambda r: r.urn):
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        pricer = PRICED.get(resource.type)
        if pricer is None:
            if resource.type not in FREE:
                unpriced.add(resource.type)
            continue
        owner = run.component_of(resource)
        component = owner.name if owner else "stack"
        items += [Item(component, i.what, i.monthly, i.basis) for i in pricer(resource, context)]
    return Estimate(run.stack, run.region, items, sorted(unpriced))


def section(run: Run, neighbours: Mapping[str, int] | None = None) -> list[str]:
    """The estimate's lines; `neighbours`: the Elastic IPs of the other stacks in its region."""
    if run.region not in PRICES:
        return [
            f"cost: no price table for {run.region} (tools/cost/prices.py has {sorted(PRICES)})"
        ]
    found = estimate(run)
    lines = [
        f"monthly cost estimate of {run.stack} in {run.region}, USD "
        f"(prices taken {TAKEN} from the {SOURCE}; to be refreshed)",
    ]
    by_component: dict[str, list[Item]] = defaultdict(list)
    for item in found.items:
        by_component[item.component].append(item)
    for component, items in sorted(by_component.items()):
        lines.append(f"  {component:<44} {sum(i.monthly for i in items):>9.2f}")
        for item in _merged(items):
            lines.append(f"    {item.what:<42} {item.monthly:>9.2f}  {item.basis}")
    lines.append(f"  {'total':<44} {found.total:>9.2f}")
    lines += ["", "assumed usage (tools/cost/prices.py, Usage):"]
    usage = PRICES[run.region].usage
    lines += [f"  {f.name} = {getattr(usage, f.name)}" for f in fields(usage)]
    lines += [f"  {HOURS} hours a month; groups at their desired (or minimum) size", ""]
    lines += [f"not estimated: {NOT_ESTIMATED}", *eip_lines(run, neighbours or {})]
    if found.unpriced:
        lines.append(f"NOT PRICED (add to tools/cost): {', '.join(found.unpriced)}")
    return lines


def eip_lines(run: Run, neighbours: Mapping[str, int]) -> list[str]:
    """This stack's Elastic IPs against the default quota, and the region's stacks together."""
    own = len(run.of_type(t.EIP))
    lines = [f"Elastic IPs: {own} of the default quota of {EIP_QUOTA} per region"]
    together = {run.stack: own, **neighbours}
    if len(together) > 1:
        listed = ", ".join(f"{name} {count}" for name, count in sorted(together.items()))
        lines.append(f"  stacks in {run.region} together: {sum(together.values())} ({listed})")
    if sum(together.values()) >= EIP_QUOTA or own * STACKS_PER_REGION >= EIP_QUOTA:
        lines.append(
            f"  WARNING: {STACKS_PER_REGION} stacks in one region would exhaust the quota of "
            f"{EIP_QUOTA}: a NAT gateway or bastion replaced (a new address before the old "
            "one is released) fails; ask for a higher quota (Service Quotas, EC2, "
            "'EC2-VPC Elastic IPs')"
        )
    return lines


def _merged(items: list[Item]) -> list[Item]:
    """Items of one kind (alarms, keys, NAT gateways) as one line with their count."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.what].append(item)
    merged = []
    for what, same in groups.items():
        total = sum(i.monthly for i in same)
        label = what if len(same) == 1 else f"{len(same)} x {what}"
        basis = same[0].basis if len(same) == 1 else f"each {same[0].basis}"
        merged.append(Item(same[0].component, label, total, basis))
    return merged
