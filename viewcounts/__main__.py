"""`python -m viewcounts` runs the `viewcounts` command."""

import sys

from viewcounts.cli import main

sys.exit(main())
