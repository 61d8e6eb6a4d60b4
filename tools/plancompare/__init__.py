"""Plans two git revisions of the program under the mocks and compares them per URN: the gate of
a behaviour-preserving change (every variant plans the same resources with the same inputs and
options, and keeps every URN) and the data a replacement forecast classifies.

    python -m tools.plancompare FROM [TO] [--stack STACK] [--json FILE]
    make compare FROM=<rev> [TO=<rev>] [STACK=<stack>]

TO defaults to the working tree (also spelled WORKTREE). Each side is planned by its own code in
its own process (revisions.py runs extract.py in the checkout); the variants are tools/urns'
(every stack in both database modes, dev with every option on) and each example program's
stacks. Per variant it prints the resources added, removed, moved through an alias, and whose
inputs or options changed, old and new values, secrets masked. Exits 0 when nothing differs, 1
when something does, 2 on bad usage or a side that cannot be planned at all.
"""

from tools.plancompare.compare import compare, compare_variant
from tools.plancompare.model import Comparison, ResourceDiff, VariantDiff
from tools.plancompare.revisions import WORKTREE, compare_revisions

__all__ = [
    "WORKTREE",
    "Comparison",
    "ResourceDiff",
    "VariantDiff",
    "compare",
    "compare_revisions",
    "compare_variant",
]
