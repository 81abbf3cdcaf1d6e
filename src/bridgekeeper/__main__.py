from bridgekeeper.cli import main

raise SystemExit(main())
