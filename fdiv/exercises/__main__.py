"""``python -m fdiv.exercises FILE`` = ``fdiv grade FILE`` (see :mod:`fdiv.exercises.cli`)."""
import sys

from .cli import main

sys.exit(main())
