import sys

from drill.run import main

sys.exit(main())
