"""`python -m monitor` is the `furnace-monitor` console script."""

from monitor.cli import main

raise SystemExit(main())
