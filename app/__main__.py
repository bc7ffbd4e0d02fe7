"""``python -m functions_tui.app``: the same as the ``functions-tui`` command."""

import sys

from functions_tui.app.cli import main

sys.exit(main())
