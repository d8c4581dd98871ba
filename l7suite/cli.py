"""The `l7suite` console script: `l7suite check PATH... [--envoy-version all] [--json]`."""

from __future__ import annotations

import argparse
import sys

from l7suite.envoy import config_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="l7suite", description="Cilium Envoy L7 conformance suite tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="load CiliumEnvoyConfig files into real Envoy versions")
    config_check.build_parser(check)
    args = parser.parse_args(argv)
    return config_check.run(args)  # the only command so far


if __name__ == "__main__":
    sys.exit(main())
