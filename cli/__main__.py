"""``python -m cli`` runs the ``carbon-ticket`` command."""

from cli.main import main

main()
