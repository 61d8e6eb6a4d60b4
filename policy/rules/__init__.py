"""The rules every stack is held to: security rules in the spirit of AWS Foundational Security
Best Practices (FSBP), the CIS AWS Foundations benchmark and Pulumi's AWSGuard pack, and the
deploy-order rules that keep Pulumi from creating a resource before what AWS needs for it.

One module per service; each rule has an id, a one-line reason and the resource types it judges,
and yields one message per violation of one resource. A rule that needs other resources of the
stack says `needs_stack=True`; the policy pack runs it as a stack policy, the others as resource
policies. Importing this package registers every rule in `RULES`, in the order of the modules
below (the README's rule table follows it).
"""

from policy.rules import (  # noqa: F401 (imported to register their rules)
    cache,
    compute,
    elb,
    functions,
    iam,
    keys,
    monitoring,
    network,
    order,
    rds,
    recovery,
    storage,
    tags,
)
from policy.rules.base import ANY_TYPE, RULES, Rule, rule

__all__ = ["ANY_TYPE", "RULES", "Rule", "rule"]
