"""A scene drawn with the `diagrams` library's AWS icons: its DOT source, and the PNG Graphviz
renders from it.

`diagrams` gives each node a random id and each icon an absolute path, so its DOT would differ
on every run and every machine. Here every node and cluster takes the scene's stable id, and
every icon a path relative to the directory that holds the library's `resources/`; Graphviz
renders from that directory, so the committed DOT source is the same everywhere.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import diagrams
from diagrams.aws import (
    compute,
    database,
    general,
    integration,
    management,
    network,
    security,
    storage,
)

from tools.diagram.scene import IN_VPC, OUTSIDE, Scene

ICONS: dict[str, Any] = {
    "alb": network.ElbApplicationLoadBalancer,
    "bastion": compute.EC2Instance,
    "cache": database.ElasticacheForRedis,
    "cloudwatch": management.Cloudwatch,
    "db-nodes": compute.EC2AutoScaling,
    "dynamodb": database.DynamodbTable,
    "efs": storage.ElasticFileSystemEFS,
    "endpoint": network.Endpoint,
    "fleet": compute.EC2AutoScaling,
    "igw": network.InternetGateway,
    "internet": general.Users,
    "lambda": compute.LambdaFunction,
    "nat": network.NATGateway,
    "nat-instance": compute.EC2Instance,
    "rds": database.RDSPostgresqlInstance,
    "sns": integration.SimpleNotificationServiceSns,
    "subnet": network.PrivateSubnet,
    "subnet-public": network.PublicSubnet,
    "vip": network.VPCRouter,
    "waf": security.WAF,
}
"""Box kind -> the `diagrams` node class whose icon draws it."""

ICON_ROOT = Path(diagrams.__file__).resolve().parent.parent
"""The directory the icons' relative paths start from (it holds `resources/`)."""
TIER_LABELS = {"public": "public subnets", "private": "private subnets", "data": "data subnets"}


def icon(kind: str) -> str:
    """The icon of a box kind, relative to ICON_ROOT: `resources/aws/network/nat-gateway.png`."""
    node = ICONS[kind]
    return f"{node._icon_dir}/{node._icon}"


class _Cluster(diagrams.Cluster):  # type: ignore[misc]
    """A cluster whose DOT name is the given id, not its label (two labels may be equal)."""

    def __init__(self, id_: str, label: str) -> None:
        super().__init__(label)
        self.dot.name = id_ if id_.startswith("cluster_") else f"cluster_{id_}"


def dot_source(scene: Scene) -> str:
    """The scene as DOT, every id and icon path stable."""
    picture = diagrams.Diagram(
        scene.title,
        filename="diagram",
        direction="TB",
        show=False,
        curvestyle="curved",
        graph_attr={"pad": "0.5", "fontsize": "20", "splines": "spline"},
    )
    diagrams.setdiagram(picture)
    try:
        _boxes(scene, OUTSIDE)
        with _Cluster(scene.vpc_id, scene.vpc_label):
            _boxes(scene, IN_VPC)
            for tier in scene.tiers:
                with _Cluster(f"{scene.vpc_id}_{tier}", TIER_LABELS.get(tier, tier)):
                    _boxes(scene, tier)
        for link in scene.links:
            style = {"style": "dashed"} if link.dashed else {}
            picture.dot.edge(link.source, link.target, label=link.label, **style)
    finally:
        diagrams.setdiagram(None)
    return str(picture.dot.source)


def _boxes(scene: Scene, place: str) -> None:
    for box in scene.boxes:
        if box.place == place:
            ICONS[box.kind](box.label, nodeid=box.id, image=icon(box.kind))


def render_png(dot_file: Path, png_file: Path) -> None:
    """Graphviz's `dot`, run where the icons' relative paths resolve."""
    subprocess.run(
        ["dot", "-Tpng", "-o", str(png_file.resolve()), str(dot_file.resolve())],
        cwd=ICON_ROOT,
        check=True,
    )
