"""``python -m fastlive.serve``: the ``fastlive serve`` command."""

import sys

from fastlive.serve.cli import main

sys.exit(main())
