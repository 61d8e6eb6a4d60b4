"""multitier's components, one package per tier, each exporting its components:

- `network`: the VPC, its subnet tiers, gateways, NAT and endpoints (`VpcNetwork`);
- `access`: who reaches what: operators through the bastion (`BastionHost`), one tier another's
  port (`Access`);
- `app`: the load balancer and the auto-scaled app hosts, with their cache, backups file system
  and access logs (`AppFleet`);
- `database`: PostgreSQL in either mode, managed or the self-hosted cluster, with its failover
  function and credentials (`PostgresHA`);
- `observability`: the alert topic, keys and logs built first (`Observability`), the alarms and
  dashboard built last (`Monitoring`).

Apart from the tiers: `config` (the stack config, typed and validated) and `shared` (the
builders every tier uses: EC2, IAM, cloud-init, naming, tagging, the records between components,
the stack outputs).
"""
