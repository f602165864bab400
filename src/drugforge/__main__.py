"""``python -m drugforge`` is the ``drugforge`` command."""

import sys

from drugforge.cli import main

sys.exit(main())
