"""The ``zeroshift`` command line (typer); the library knows nothing of it."""
