from bvae_viewer.cli import main

raise SystemExit(main())
