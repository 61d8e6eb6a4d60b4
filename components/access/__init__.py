"""Who reaches what: operators into the VPC through the bastion, and one tier another's port,
each rule declared on both sides."""

from components.access.bastion import BastionHost, BastionHostArgs
from components.access.rules import Access, AccessArgs, database_access

__all__ = ["Access", "AccessArgs", "BastionHost", "BastionHostArgs", "database_access"]
