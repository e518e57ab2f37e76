"""``python -m fastlive.cli``: the ``fastlive`` command."""

import sys

from fastlive.cli import main

sys.exit(main())
