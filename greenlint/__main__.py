"""Allow ``python -m greenlint``."""

from greenlint.cli import main

raise SystemExit(main())
