"""``python -m gaussmix demo``: the main job on bundled data (the full CLI is planned separately)."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaussmix", description="gaussmix: Gaussian mixture models")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="model selection on the bundled Old Faithful data")
    demo.add_argument("--max-components", type=int, default=6)
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from .demo import run_demo

        run_demo(max_components=arguments.max_components)
    return 0


if __name__ == "__main__":
    sys.exit(main())
