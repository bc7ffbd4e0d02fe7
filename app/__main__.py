"""``python -m app``: the same as the ``functions-tui`` command."""

import sys

from app.cli import main

sys.exit(main())
