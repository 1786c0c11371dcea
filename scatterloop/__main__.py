"""`python -m scatterloop ...` is the `scatterloop` command."""

import sys

from scatterloop.core.cli import main

if __name__ == "__main__":
    sys.exit(main())
