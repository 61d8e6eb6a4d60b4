"""`python -m tools.deployer STACK [--account ID] [--split]`."""

import sys

from tools.deployer.cli import main

sys.exit(main())
