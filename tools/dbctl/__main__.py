import sys

from tools.dbctl.cli import main

sys.exit(main())
