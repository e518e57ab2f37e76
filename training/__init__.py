"""fastlive model training (install with ``pip install -e .[train]``; never imported at run time).

``python -m training.reproduce`` rebuilds everything in ``models/`` from ``../shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

_SHARED = Path(os.environ.get("FASTLIVE_SHARED",
                              Path(__file__).resolve().parent.parent.parent / "shared"))
# Third-party models (YuNet) come from ../shared/models; training never downloads.
if "FASTLIVE_MODEL_DIR" not in os.environ and (_SHARED / "models").is_dir():
    os.environ["FASTLIVE_MODEL_DIR"] = str(_SHARED / "models")
os.environ.setdefault("FASTLIVE_OFFLINE", "1")
