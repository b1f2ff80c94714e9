"""``python -m foundry_video.cli``."""

import sys

from . import main

sys.exit(main())
