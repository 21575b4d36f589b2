"""``python -m alor_sync.cli``: the same as the ``alor-sync`` console script."""

from __future__ import annotations

import sys

from alor_sync.cli import main

if __name__ == "__main__":
    sys.exit(main())
