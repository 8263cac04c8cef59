"""``python -m carbon_ticket.cli`` runs the ``carbon-ticket`` command."""

from carbon_ticket.cli.main import main

main()
