"""``python -m fdiv``: the command line (see fdiv/cli.py)."""
import sys

from .cli import main

sys.exit(main())
