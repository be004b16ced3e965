"""The `greenlint estimate` command (arguments and entry point)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options on its sub-parser."""


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    raise NotImplementedError
