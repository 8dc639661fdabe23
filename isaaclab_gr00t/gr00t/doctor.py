"""``python -m isaaclab_gr00t.gr00t.doctor CHECKPOINT_DIR [--processor DIR] [--load]``: the GR00T N1.5 checkpoint
doctor (see :mod:`isaaclab_gr00t.gr00t.n15.doctor`)."""

import sys

from .n15.doctor import main

if __name__ == "__main__":
    sys.exit(main())
