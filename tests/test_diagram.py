"""The stack pictures: drawn from what the plan declares, and committed DOT sources kept current.

The `diagrams` library writes random node ids and absolute icon paths; the drawing replaces both,
so the committed docs/diagram-<stack>.dot changes only when the plan does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy.model import Res, Stack
from policy.types import ASG, CACHE, EFS, LB, NAT_GATEWAY, RDS, WAF_ACL_ASSOCIATION
from tests.conftest import plan
from tools import mockrun, urns
from tools.diagram import Scene, dot_source, scene
from tools.diagram.cli import DOCS, current
from tools.diagram.draw import ICON_ROOT

COMMITTED = sorted(DOCS.glob("diagram-*.dot"))


def drawn(stack: str, **overrides: object) -> Scene:
    run = plan(stack, **overrides)
    return scene(run.view, run.region)


def labels(picture: Scene, kind: str) -> list[str]:
    return [b.label for b in picture.of_kind(kind)]


def test_dev_and_prod_have_a_committed_picture():
    assert {p.stem for p in COMMITTED} >= {"diagram-dev", "diagram-prod"}


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_the_committed_dot_source_is_what_the_plan_declares_now(path: Path):
    stack = path.stem.removeprefix("diagram-")
    assert path.read_text() == current(stack), f"stale: run `make diagram STACK={stack}`"


@pytest.mark.slow
def test_two_runs_of_the_program_draw_the_same_dot_source():
    # Two runs, not the cached one: the engine's registration order differs between runs.
    first, second = (mockrun.run("dev") for _ in range(2))
    assert dot_source(scene(first.view, first.region)) == dot_source(
        scene(second.view, second.region)
    )


def test_every_icon_path_is_relative_and_exists_under_the_library():
    source = current("prod")
    images = re.findall(r'image="([^"]+)"', source)
    assert images
    assert [i for i in images if Path(i).is_absolute() or not (ICON_ROOT / i).is_file()] == []


def test_no_random_id_reaches_the_dot_source():
    assert re.search(r"\b[0-9a-f]{32}\b", current("dev")) is None


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_box_ids_are_unique_and_every_link_joins_two_boxes(stack: str):
    picture = drawn(stack)
    ids = [b.id for b in picture.boxes]
    assert len(ids) == len(set(ids))
    assert [link for link in picture.links if {link.source, link.target} - set(ids)] == []


def test_prod_draws_a_nat_gateway_per_az_in_the_public_tier_each_routed_from_its_az():
    picture = drawn("prod")
    nats = picture.of_kind("nat")
    assert sorted(b.label.splitlines()[1] for b in nats) == [f"eu-west-1{z}" for z in "abc"]
    assert {b.place for b in nats} == {"public"}
    for nat in nats:
        zone = nat.label.splitlines()[1]
        routed = {
            picture.box(link.source).label.splitlines()[0]
            for link in picture.links
            if link.target == nat.id and link.label == "0.0.0.0/0"
        }
        assert routed == {zone}, f"{nat.id}: routed from {routed}"


def test_dev_draws_its_nat_instance_and_every_private_and_data_subnet_routes_to_it():
    picture = drawn("dev")
    (nat,) = picture.of_kind("nat-instance")
    routed = {link.source for link in picture.links if link.target == nat.id}
    subnets = {b.id for b in picture.of_kind("subnet")}
    assert routed == subnets


def test_the_tiers_are_the_subnet_tags_and_hold_what_the_plan_places_there():
    picture = drawn("prod")
    assert picture.tiers == ["public", "private", "data"]
    places = {b.kind: b.place for b in picture.boxes}
    assert places["alb"] == "public"
    assert places["fleet"] == "private"
    assert places["rds"] == "data"


def test_prod_draws_multi_az_rds_and_the_app_reaching_it():
    picture = drawn("prod")
    (db,) = picture.of_kind("rds")
    assert "Multi-AZ" in db.label and "db.m7g.large" in db.label
    (fleet,) = picture.of_kind("fleet")
    assert any(
        (link.source, link.target, link.label) == (fleet.id, db.id, "tcp/5432")
        for link in picture.links
    )


def test_vip_mode_draws_the_vip_its_route_to_the_nodes_and_the_function_that_moves_it():
    picture = drawn("dev")
    (vip,) = picture.of_kind("vip")
    (nodes,) = picture.of_kind("db-nodes")
    (fleet,) = picture.of_kind("fleet")
    links = {(link.source, link.target): link for link in picture.links}
    (function,) = [f for f in picture.of_kind("lambda") if "failover" in f.label]
    assert "10.10.10.10/32" in vip.label
    assert links[vip.id, nodes.id].label == "/32 route to the primary"
    assert links[function.id, vip.id].dashed
    assert links[fleet.id, vip.id].label == "tcp/5432", "the app reaches the VIP, not the nodes"
    assert (fleet.id, nodes.id) not in links
    assert picture.of_kind("dynamodb") and picture.of_kind("efs")


def test_managed_mode_draws_no_vip_no_nodes_and_no_failover_function():
    picture = drawn("dev", database={"mode": "managed"})
    assert [picture.of_kind(k) for k in ("vip", "db-nodes")] == [[], []]
    assert not [f for f in picture.of_kind("lambda") if "failover" in f.label]
    assert picture.of_kind("rds")


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_the_credentials_function_sits_in_the_private_tier_and_reaches_the_database(mode: str):
    picture = drawn("dev", database={"mode": mode})
    (function,) = [f for f in picture.of_kind("lambda") if "credentials" in f.label]
    assert function.place == "private"
    assert "rotation of 3 secrets" in function.label
    database = picture.of_kind("vip" if mode == "vip" else "rds")[0]
    assert any(
        (link.source, link.target, link.label) == (function.id, database.id, "tcp/5432")
        for link in picture.links
    ), [link for link in picture.links if link.source == function.id]


def test_a_declared_web_acl_stands_between_the_internet_and_the_load_balancer():
    run = plan("prod")
    view = run.view
    (lb,) = view.of_type(LB)
    association = Res(
        urn=lb.urn.replace("aws:lb/loadBalancer:LoadBalancer::app", f"{WAF_ACL_ASSOCIATION}::app"),
        type=WAF_ACL_ASSOCIATION,
        name="app",
        props={},
        parent=lb.parent,
        deps={"resourceArn": [lb.urn]},
    )
    picture = scene(Stack(view.name, [*view.resources, association]), run.region)
    (waf,) = picture.of_kind("waf")
    (alb,) = picture.of_kind("alb")
    pairs = {(link.source, link.target) for link in picture.links}
    assert (waf.id, alb.id) in pairs
    assert ("internet", waf.id) in pairs and ("internet", alb.id) not in pairs


DRAWN = {ASG: ("fleet", "db-nodes", "bastion"), RDS: ("rds",), CACHE: ("cache",), EFS: ("efs",)}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(urns.variants()))
def test_every_fleet_database_cache_file_system_and_nat_gateway_is_drawn(variant: str):
    run = mockrun.run(variant.split("/", maxsplit=1)[0], urns.variants()[variant])
    picture = scene(run.view, run.region)
    for type_, kinds in DRAWN.items():
        boxes = [b for kind in kinds for b in picture.of_kind(kind)]
        assert len(boxes) == len(run.of_type(type_)), f"{variant}: {type_}"
    assert len(picture.of_kind("nat")) == len(run.of_type(NAT_GATEWAY))
