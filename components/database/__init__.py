"""The database tier: PostgreSQL behind one interface, managed (RDS) or the self-hosted cluster
behind a virtual IP with its failover function, and the credentials both keep."""

from components.database.postgres_ha import PostgresHA, PostgresHAArgs, cluster_name

__all__ = ["PostgresHA", "PostgresHAArgs", "cluster_name"]
