"""One module per subcommand: add_arguments(parser) and run(args) -> exit code.

Modules import heavy libraries (torch, ray) inside run(), so `msenas --help` stays fast.
"""
