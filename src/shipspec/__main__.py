from shipspec.cli.main import main

raise SystemExit(main())
