from sla_lib.cli import main

raise SystemExit(main())
