"""What the vip cluster's parts agree on: tag keys, the cluster table's items, the events that run
the failover function and the metric it publishes. The program (components/vip_cluster.py,
components/vip_failover.py), this Lambda and the drill import them from here; the node agent,
shipped alone to Python 3.9 hosts, keeps its own copies, tied to these by a test.
"""

from __future__ import annotations

from typing import Any

CLUSTER_TAG = "multitier:db-cluster"
"""On a node: the cluster it belongs to."""
ROLE_TAG = "multitier:db-role"
"""On a node: `primary`, `standby` or `fenced`; the failover function sets it."""
PROMOTED_TAG = "multitier:db-promoted-at"
"""On a primary: when it was promoted (epoch seconds)."""
ROUTES_TAG = "multitier:db-vip-routes"
"""On a route table: the cluster whose VIP route the failover function owns in it."""

TABLE_KEY = "id"
"""The cluster table's partition key (a string)."""
LEASE_ITEM = "failover-lease"
"""The failover function's lease."""
NODE_ITEM_PREFIX = "node#"
"""A node agent's report: `node#<role id>:<instance id>`, which is `node#${aws:userid}` for the
node's instance-profile role, so that IAM's `dynamodb:LeadingKeys` holds each node to its own
item (`node#<instance id>` where the role id is not known: off AWS, and the tests)."""
NODE_USER_ID = "${aws:userid}"
"""The policy variable a node's report key is written from: `<role id>:<instance id>`."""
PAUSE_ITEM = "failover-pause"
"""Present while failover is paused (`python -m tools.dbctl pause`): who, when and why. The
function then observes and logs, and changes nothing."""
DECISIONS_ITEM = "failover-decisions"
"""The function's latest decisions that were not `unchanged`, newest first, with why."""
DECISIONS_KEPT = 10
SWITCHOVER_HOLDER = "switchover:"
"""The lease's holder while an operator's switchover runs: the function defers to it."""

METRIC_NAMESPACE = "multitier/database"
SERVING_METRIC = "PrimaryServing"
"""1 when a primary is known to serve, 0 otherwise; one value per decision, by `cluster`."""
BOOTING_METRIC = "ClusterBooting"
"""1 while a new cluster's nodes are still booting (`waiting`), 0 otherwise; with each decision."""
CERTIFICATE_EXPIRES = "cert_expires"
"""A report's attribute: when the certificate the node serves expires (epoch s), if known."""
CERTIFICATE_METRIC = "CertificateDaysLeft"
"""Days until the earliest expiry of the certificates the nodes serve; with each decision."""
REPORT_STATE = "state"
"""A report's state attribute: what the table's stream filters on."""
DEPLOYED = "multitier.deploy"
"""The event `source` of the function's run when the stack is deployed."""
STOPPING_STATES = ("stopping", "stopped", "shutting-down", "terminated")


def node_item(instance_id: str, role_id: str = "") -> str:
    """A node's report key; `role_id` is its role's unique id (AROA...)."""
    return (
        f"{NODE_ITEM_PREFIX}{role_id}:{instance_id}"
        if role_id
        else f"{NODE_ITEM_PREFIX}{instance_id}"
    )


def state_change_pattern() -> dict[str, Any]:
    """EC2 reports an instance going down: maybe the primary."""
    return {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": list(STOPPING_STATES)},
    }


def report_filters() -> list[dict[str, Any]]:
    """The cluster table's stream records that run the function at once: every `failing`
    report (a primary's writes fail: the function must hear of it before its next scheduled
    run). Lambda's event filtering drops every other record (the other reports, the function's
    own lease) before any invocation; DynamoDB event sources filter on the `dynamodb` key only."""
    return [{"dynamodb": {"NewImage": {REPORT_STATE: {"S": ["failing"]}}}}]


def node_launched_pattern(group: str) -> dict[str, Any]:
    """The node group launched a node: a new standby, or the first nodes of a cluster."""
    return {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance Launch Successful"],
        "detail": {"AutoScalingGroupName": [group]},
    }
