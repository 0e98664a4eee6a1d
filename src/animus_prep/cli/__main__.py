"""`python -m animus_prep.cli`: the `animus-prep` command."""

from . import main

raise SystemExit(main())
