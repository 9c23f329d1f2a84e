"""The ``fdiv`` command line (also ``python -m fdiv``).

    fdiv list                      table of divergences: f, f*, dom f*, sigma_f, f'(1)
    fdiv derive NAME               the symbolic derivation of f*, step by step
    fdiv train --divergence NAME --dataset NAME [--conditional] [--steps N] [--seed S] [--device D] --out DIR
    fdiv train --resume DIR        continue an interrupted run in its directory
    fdiv sample --checkpoint DIR/checkpoint.pt [--label Y] [--n N] --out FILE.png|FILE.npy
    fdiv grade FILE | fdiv grade --list

Each subcommand lives with its concept (fdiv.core.symbolic, fdiv.cli.train, fdiv.cli.grade); this module
only wires them. Errors in the user's input print one clear line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``fdiv train: error: ...``), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from fdiv import __version__

    parser = OneLineParser(prog="fdiv", description="f-divergences, conjugates and f-GAN training.")
    parser.add_argument("--version", action="version", version=f"fdiv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True

    p = sub.add_parser("list", help="table of the registered divergences")
    p.set_defaults(run=_run_list)

    p = sub.add_parser("derive", help="derive f* and dom f* of a divergence with sympy, step by step")
    p.add_argument("name", help="a registered divergence (see `fdiv list`)")
    p.add_argument("--alpha", type=float, default=None, help="the parameter of the alpha family")
    p.set_defaults(run=_run_derive)

    from fdiv.cli import train as train_cli

    p = sub.add_parser("train", help="train an f-GAN and write metrics, a checkpoint and pictures")
    train_cli.add_train_arguments(p)
    p.set_defaults(run=train_cli.run_train)

    p = sub.add_parser("sample", help="draw samples from a trained generator")
    train_cli.add_sample_arguments(p)
    p.set_defaults(run=train_cli.run_sample)

    from fdiv.cli import grade as grade_cli

    p = sub.add_parser("grade", help="grade exercise solutions (a .py file or a notebook)")
    grade_cli.add_arguments(p)
    p.set_defaults(run=grade_cli.run)
    return parser


def _run_list(args) -> int:
    from fdiv.core.tables import print_table

    print_table(file=sys.stdout)
    return 0


def _run_derive(args) -> int:
    from fdiv.core.tables import print_derivation

    if args.name == "alpha" and args.alpha is None:
        raise ValueError("the alpha family needs its parameter: fdiv derive alpha --alpha A (A not 0 or 1), "
                         "e.g. --alpha 0.5")
    params = {} if args.alpha is None else {"alpha": args.alpha}
    print_derivation(args.name, file=sys.stdout, **params)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"fdiv {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine refused (disk full, ...): one line too
        print(f"fdiv {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
