"""``python -m fraudguard`` is the same as the ``fraudguard`` command."""

from fraudguard.cli import main

main()
