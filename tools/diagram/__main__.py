"""`python -m tools.diagram STACK [--check] [--no-png]`."""

import sys

from tools.diagram.cli import main

sys.exit(main())
