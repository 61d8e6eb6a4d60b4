"""Observability: where alerts and logs go (built first), and the alarms and dashboard over the
tiers (built last)."""

from components.observability.foundation import Observability, ObservabilityArgs
from components.observability.monitoring import Monitoring, MonitoringArgs

__all__ = ["Monitoring", "MonitoringArgs", "Observability", "ObservabilityArgs"]
