"""``python -m screening.authoring RECORD.json -o OUT.yaml``: the draft rule file (same as ``screening new``)."""

from __future__ import annotations

import sys

from .new import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
