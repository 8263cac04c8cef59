"""Carbon Ticket Ledger: the one top-level package this distribution installs.

Its subpackages live in the repository's top-level folders (``chain/``, ``consensus/``,
``node/``, ``proto/``, ``cli/``), mapped here by setup.cfg's ``package_dir``; see
docs/architecture.md, "One install namespace".
"""
