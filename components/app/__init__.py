"""The app tier: the internet-facing load balancer and the auto-scaled app hosts, with their
scaling, cache, backups file system and access logs."""

from components.app.fleet import AppFleet, AppFleetArgs

__all__ = ["AppFleet", "AppFleetArgs"]
