"""``python -m drugforge.cli``."""

import sys

from drugforge.cli import main

sys.exit(main())
