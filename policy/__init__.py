"""The security policy over declared resources: the rules, their exceptions, and the analyses that
read a stack the same way. It imports nothing else of this repository, so the policy pack can ship
a copy of it (tools/policy_pack.py)."""
