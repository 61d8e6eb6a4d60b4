"""`python -m drill`: the failover drill (drill/run.py)."""

import sys

from drill.run import main

sys.exit(main())
