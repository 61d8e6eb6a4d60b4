"""`multitier:observability`: who is alerted, how long logs are kept, and when alarms fire."""

from __future__ import annotations

from typing import Literal

from pydantic import EmailStr, Field

from components.config.fields import LogRetention, Model


class LogRetentionOverrides(Model):
    app: LogRetention | None = Field(None, description="App host logs; default logRetentionDays.")
    database: LogRetention | None = Field(
        None, description="RDS log exports and the failover Lambda; default logRetentionDays."
    )


class AlarmThresholds(Model):
    """When an alarm fires. Periods are one minute unless the key says otherwise."""

    alb_5xx_per_minute: int = Field(10, ge=1, description="ALB or target 5xx responses.")
    p95_latency_seconds: float = Field(1.0, gt=0, description="p95 target response time.")
    app_cpu_percent: float = Field(85, gt=0, le=100, description="App group average CPU.")
    db_cpu_percent: float = Field(80, gt=0, le=100, description="RDS CPU.")
    db_free_storage_gb: float = Field(5, gt=0, description="RDS free storage below this.")
    db_free_memory_mb: float = Field(256, gt=0, description="RDS freeable memory below this.")
    db_connections: int = Field(200, ge=1, description="RDS connections above this.")
    replica_lag_seconds: float = Field(60, gt=0, description="RDS replica lag above this.")
    efs_io_limit_percent: float = Field(90, gt=0, le=100, description="VIP data EFS IO limit.")
    cache_cpu_percent: float = Field(75, gt=0, le=100, description="Redis engine CPU.")
    cache_memory_percent: float = Field(80, gt=0, le=100, description="Redis memory used.")
    cache_evictions_per_minute: int = Field(100, ge=1, description="Redis evictions.")
    evaluation_minutes: int = Field(5, ge=1, le=60, description="Minutes a condition must last.")


class ObservabilityConfig(Model):
    """`multitier:observability`"""

    alarm_emails: list[EmailStr] = Field(
        default_factory=list, description="Addresses subscribed to the alert topic."
    )
    log_retention_days: LogRetention = Field(
        30, description="Retention of every log group, unless overridden."
    )
    log_retention: LogRetentionOverrides = Field(default_factory=LogRetentionOverrides)
    thresholds: AlarmThresholds = Field(default_factory=AlarmThresholds)

    def retention(self, group: Literal["app", "database"]) -> int:
        override: int | None = getattr(self.log_retention, group)
        return override or self.log_retention_days
