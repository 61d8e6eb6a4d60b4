"""`python -m tools.dbctl`: the vip cluster's operator verbs (tools/dbctl/cli.py)."""

import sys

from tools.dbctl.cli import main

sys.exit(main())
