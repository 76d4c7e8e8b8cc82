"""Entry point of the PyInstaller bundle: the same `bvae-viewer` console script."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A frozen app re-runs itself for spawned worker processes (synth, data loaders).
    multiprocessing.freeze_support()
    from bvae_viewer.cli import main

    sys.exit(main())
