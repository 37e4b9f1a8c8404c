"""``python -m zeroshift.cli`` runs the command line."""

from zeroshift.cli.main import main

main()
