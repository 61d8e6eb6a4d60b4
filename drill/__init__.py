"""The failover drill: the vip cluster played end to end on one machine (see drill/run.py)."""
