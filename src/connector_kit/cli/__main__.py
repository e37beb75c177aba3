"""``python -m connector_kit.cli``: the same as the ``connector-kit`` script."""

import sys

from .app import main

sys.exit(main())
