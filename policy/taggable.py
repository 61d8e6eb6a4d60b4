"""Which AWS resource types take tags, as the installed pulumi-aws SDK says."""

from __future__ import annotations

import importlib
import inspect
from functools import cache

# Type-token modules whose Python module has another name.
_MODULES = {"lambda": "lambda_", "index": ""}


@cache
def is_taggable(type_token: str) -> bool:
    """True for `aws:ec2/securityGroup:SecurityGroup`, False for `aws:ec2/route:Route`."""
    package, _, rest = type_token.partition(":")
    if package != "aws" or rest.count(":") != 1:
        return False
    module_path, class_name = rest.split(":")
    module = module_path.split("/")[0]
    module = _MODULES.get(module, module)
    try:
        python_module = importlib.import_module(f"pulumi_aws.{module}" if module else "pulumi_aws")
    except ImportError:
        return False
    cls = getattr(python_module, class_name, None)
    init = getattr(cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters
