"""The network tier: the VPC, three subnet tiers per zone, gateways, NAT, routes, flow logs and
endpoints."""

from components.network.vpc import VpcNetwork, VpcNetworkArgs, carve

__all__ = ["VpcNetwork", "VpcNetworkArgs", "carve"]
