"""Entry point of ``python -m skcredit`` and of the ``skcredit`` console script."""

import sys

from skcredit._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
