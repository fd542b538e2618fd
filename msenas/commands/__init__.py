"""One module per subcommand: add_arguments(parser) and run(args) -> exit code.

Modules import heavy libraries (torch, ray) inside run(), so `msenas --help` stays fast.
"""


def at_least(low: int):
    """An argparse type: an integer >= low ("--classes: must be an integer >= 1, got '-5'" otherwise)."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse
