"""One module per noun or verb; each exposes a Typer app or a command function."""
