"""``python -m convcost``: the same CLI as the ``convcost`` command."""

import sys

from convcost.cli import main

sys.exit(main())
