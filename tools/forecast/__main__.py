"""`python -m tools.forecast FROM [TO] [--stack STACK] [--json FILE]`."""

import sys

from tools.forecast.cli import main

sys.exit(main())
