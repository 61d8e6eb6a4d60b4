"""Entry point of the policy pack; the Pulumi CLI runs it from the built pack's directory.

`make policy-pack` (tools/policy_pack.py) builds that directory: this file, PulumiPolicy.yaml, a
copy of the policy package beside them and pinned requirements. The CLI puts the directory on
`sys.path`, so `policy` below is that copy, wherever the pack was published or installed.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pulumi_pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
