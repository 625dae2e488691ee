"""The `helixflow` command line: thin commands that call the stacks API and render results."""

__version__ = "0.1.0"
