"""The replacement forecast: what `pulumi up` of one revision does to a stack deployed from
another, resource by resource, offline.

    python -m tools.forecast FROM [TO] [--stack STACK] [--json FILE]
    make diff STACK=<stack> FROM=<rev> [TO=<rev>]

It reads the plan comparison (tools/plancompare: every variant planned by each side's own code
and compared per URN, aliases followed) and classes each resource: created, deleted, replaced,
updated in place, instances rolled, unchanged. Replaced comes from what AWS cannot change in
place: the create-only properties of CloudFormation's resource schemas that cfn-lint carries,
mapped back to the program's inputs through the AWS schema check's rendering (schemas.py), and a
kept table where the provider's force-new differs (provider.py); replacements then spread to
whatever takes a value of the replaced resource (classify.py). Stateful resources replaced or
deleted come first, loudly; pins that differ between the two revisions are said. Exits 0, 1 when
a stateful resource is replaced or deleted, 2 on bad usage.
"""

from tools.forecast.classify import forecast_variant
from tools.forecast.cli import forecast
from tools.forecast.model import Forecast, Kind, VariantForecast, Verdict

__all__ = ["Forecast", "Kind", "VariantForecast", "Verdict", "forecast", "forecast_variant"]
