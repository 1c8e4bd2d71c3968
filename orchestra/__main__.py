"""``python -m orchestra``."""

from .cli import main

main()
