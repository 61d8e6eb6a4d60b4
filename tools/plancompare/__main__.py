"""`python -m tools.plancompare FROM [TO] [--stack STACK] [--json FILE]`."""

import sys

from tools.plancompare.cli import main

sys.exit(main())
