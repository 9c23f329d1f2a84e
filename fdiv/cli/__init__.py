"""The ``fdiv`` command line: :mod:`~fdiv.cli.main` wires the subcommands, :mod:`~fdiv.cli.train`
(``train``, ``sample``) and :mod:`~fdiv.cli.grade` (``grade``) implement them."""
from fdiv.cli.main import main

__all__ = ["main"]
