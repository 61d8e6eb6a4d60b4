"""Access: one tier admitted to another tier's port, owned by neither tier. The server's ingress
rule and the client's egress rule are declared together (`ec2.allow_tcp`), where both groups are
known: in the program that joins the two (__main__.py, examples/). A server this program does not
run gets the client's egress rule only: its own group is not this program's to change."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.shared import ec2
from components.shared.contracts import DatabaseConnection


@dataclass(frozen=True)
class AccessArgs:
    port: int
    """The server's TCP port."""
    client_group_id: pulumi.Input[str]
    """The client's security group: its egress rule goes here."""
    server_group_id: pulumi.Input[str] | None
    """The server's security group: its ingress rule goes here. None: a server this program does
    not run, reached at `server_cidr`."""
    ingress_description: str
    """The server's rule, in words (`PostgreSQL from app`)."""
    egress_description: str
    """The client's rule, in words (`PostgreSQL to the database`)."""
    rule_name: str
    """The ingress rule's name (the egress rule's: `<rule_name>-egress`)."""
    server_cidr: str | None = None
    """Where the client sends, when no interface of the server's group holds that address (a
    VIP); None: to the server's group."""
    server_component: str | None = None
    """The multitier component that serves the port (`PostgresHA`'s name), whose child the
    ingress rule was before this component existed; None: none of ours."""


def database_access(
    connection: DatabaseConnection, client_group_id: pulumi.Input[str], client: str
) -> AccessArgs:
    """`client`'s group to the database, on its port, at its VIP in vip mode."""
    return AccessArgs(
        port=connection.port,
        client_group_id=client_group_id,
        server_group_id=connection.security_group_id,
        server_cidr=connection.address_cidr,
        ingress_description=f"PostgreSQL from {client}",
        egress_description="PostgreSQL to the database",
        rule_name=f"database-from-{client}",
        server_component=connection.component,
    )


_FORMER_PARENT_TYPE = "multitier:database:PostgresHA"


class Access(pulumi.ComponentResource):
    """A client tier admitted to a server tier's port."""

    def __init__(
        self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:network:Access", name, None, opts)
        # Until the components took records only, the database declared its ingress rule itself:
        # the alias carries a deployed stack's rule over (a move, never a replacement).
        aliases = None
        if args.server_component is not None:
            former = pulumi.create_urn(args.server_component, _FORMER_PARENT_TYPE)
            aliases = [pulumi.Alias(parent=former)]
        child = pulumi.ResourceOptions(parent=self, aliases=aliases)
        if args.server_group_id is None:
            if args.server_cidr is None:
                raise ValueError(f"{name}: a server without a group of ours needs server_cidr")
            ec2.tcp_egress(
                f"{args.rule_name}-egress",
                args.client_group_id,
                args.port,
                args.egress_description,
                child,
                cidr_ipv4=args.server_cidr,
            )
        else:
            ec2.allow_tcp(
                args.rule_name,
                port=args.port,
                client_group_id=args.client_group_id,
                server_group_id=args.server_group_id,
                server_cidr=args.server_cidr,
                ingress_description=args.ingress_description,
                egress_description=args.egress_description,
                opts=child,
            )
        self.register_outputs({})
