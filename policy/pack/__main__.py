"""Entry point of the policy pack; the Pulumi CLI runs it. The rules are in policy/rules/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pulumi_pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
