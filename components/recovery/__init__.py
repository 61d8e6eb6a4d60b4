"""Disaster recovery: copies of the stack's data in another region (`database.dr`)."""

from components.recovery.disaster_recovery import DisasterRecovery, DisasterRecoveryArgs

__all__ = ["DisasterRecovery", "DisasterRecoveryArgs"]
