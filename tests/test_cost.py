"""The monthly cost estimate: every AWS type any variant declares is priced or listed free with
why, every size it declares has a price, and the figures follow the plan."""

from __future__ import annotations

import pytest

from policy import types as t
from tests.conftest import plan
from tools import mockrun, urns
from tools.cost import prices
from tools.cost.estimate import PRICED, MissingPriceError
from tools.cost.free import FREE
from tools.cost.report import EIP_QUOTA, eip_lines, estimate, section


def _uncovered(run: mockrun.Run) -> set[str]:
    aws = {r.type for r in run.resources if r.custom and r.type.startswith("aws:")}
    return aws - set(PRICED) - set(FREE)


def test_no_type_is_both_priced_and_free():
    assert set(PRICED) & set(FREE) == set()


def test_every_free_type_says_why():
    assert [type_ for type_, why in FREE.items() if len(why) < 10] == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_aws_type_a_stack_declares_is_priced_or_free(stack: str):
    assert _uncovered(plan(stack)) == set(), "price them in tools/cost or list them free"


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(urns.variants()))
def test_every_type_and_size_any_variant_declares_has_a_price(variant: str):
    run = mockrun.run(variant.split("/", maxsplit=1)[0], urns.variants()[variant])
    assert _uncovered(run) == set(), "price them in tools/cost or list them free"
    assert estimate(run).total > 0  # raises MissingPriceError for a size the table lacks


def test_a_size_the_table_lacks_is_an_error_not_a_zero():
    with pytest.raises(MissingPriceError, match=r"m5\.24xlarge"):
        estimate(plan("dev", app={"instanceType": "m5.24xlarge"}))


def test_every_stack_region_has_a_dated_price_table():
    regions = {mockrun.stack_config(s).get("aws:region") for s in mockrun.stacks()}
    assert regions <= set(prices.PRICES)
    assert prices.TAKEN and "Price List" in prices.SOURCE


def _items(stack: str, **overrides: object) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in estimate(plan(stack, **overrides)).items:
        found[item.what] = found.get(item.what, 0) + item.monthly
    return found


def test_multi_az_rds_costs_twice_the_instance_and_the_storage():
    single = _items("prod", database={"multiAz": False})
    double = _items("prod")
    assert double["RDS primary: db.m7g.large, Multi-AZ"] == pytest.approx(
        2 * single["RDS primary: db.m7g.large"]
    )
    assert double["RDS gp3 storage"] == pytest.approx(2 * single["RDS gp3 storage"])


def test_nat_gateways_cost_per_az_and_the_nat_instance_as_an_instance():
    p = prices.PRICES["eu-west-1"]
    nat = prices.HOURS * p.nat_hour + p.usage.nat_gb * p.nat_gb
    assert _items("prod")["NAT gateway"] == pytest.approx(3 * nat)
    assert "NAT gateway" not in _items("dev")
    assert _items("dev")["NAT instance: t3.micro"] == pytest.approx(prices.HOURS * 0.0114)


def test_the_app_fleet_is_priced_at_its_desired_size():
    p = prices.PRICES["eu-west-1"]
    fleet = [i for i in estimate(plan("prod")).items if i.what.startswith("app group")]
    assert fleet[0].monthly == pytest.approx(2 * prices.HOURS * p.ec2_hour["t3.medium"])


def test_every_elastic_ip_and_public_address_is_priced():
    items = [i for i in estimate(plan("prod")).items if i.what.startswith("public IPv4")]
    addresses = sum(round(i.monthly / (prices.HOURS * 0.005)) for i in items)
    assert addresses == len(plan("prod").of_type(t.EIP)) + 3, "3 NAT EIPs and the ALB's 3"


def test_three_stacks_in_a_region_that_exhaust_the_eip_quota_warn():
    lines = eip_lines(plan("dev"), {"staging": 1, "prod": 3})
    assert any("WARNING" in line for line in lines)
    assert lines[0] == f"Elastic IPs: 1 of the default quota of {EIP_QUOTA} per region"


def test_a_stack_with_room_under_the_quota_does_not_warn():
    lines = eip_lines(plan("dev"), {"staging": 1})
    assert not any("WARNING" in line for line in lines)


def test_the_section_states_its_source_date_usage_and_what_is_not_estimated():
    text = "\n".join(section(plan("dev")))
    assert prices.TAKEN in text and "to be refreshed" in text
    assert "nat_gb = " in text and "not estimated:" in text
    assert "NOT PRICED" not in text
