"""The vip cluster's operator verbs: `python -m tools.dbctl switchover|pause|resume|status`."""
