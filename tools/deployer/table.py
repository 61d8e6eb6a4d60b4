"""The one table: per Pulumi resource type, the IAM actions `pulumi up`, `refresh` and `destroy`
call to create, read, update, delete and tag it, and how AWS names it in an ARN.

Its rows live by service family (table_compute.py, table_services.py) and are joined here; an
action is written once, under the verb that first needs it (entry.py says what a row holds).
`LOOKUPS` are the calls the program's data sources make at every preview; `NOT_AWS` the types
that never reach AWS, with why. A type in none of them fails the tests.
"""

from __future__ import annotations

from policy import types as t
from tools.deployer import table_compute, table_services
from tools.deployer.entry import Entry

TABLE: dict[str, Entry] = {**table_compute.ENTRIES, **table_services.ENTRIES}

LOOKUPS = Entry(
    (),
    (
        # aws.get_availability_zones (the VPC's AZs) and the public AL2023 AMI parameter.
        "ec2:DescribeAvailabilityZones",
        "ssm:GetParameter",
        "ssm:GetParameters",
    ),
    resource="parameter",
    also=(("parameter", "arn:aws:ssm:{region}::parameter/aws/service/*"),),
)
"""The data sources' reads (aws.get_caller_identity needs no permission)."""

LOCAL = "Made by a Pulumi provider on the machine that runs Pulumi; AWS never sees it."
NOT_AWS: dict[str, str] = {
    t.RANDOM_ID: LOCAL,
    t.RANDOM_PASSWORD: LOCAL,
    t.TLS_PRIVATE_KEY: LOCAL,
    t.TLS_SELF_SIGNED_CERT: LOCAL,
    t.TLS_CERT_REQUEST: LOCAL,
    t.TLS_LOCALLY_SIGNED_CERT: LOCAL,
}
COMPONENT = "A Pulumi component (multitier:*): it groups resources, and AWS never sees it."
