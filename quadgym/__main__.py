"""``python -m quadgym COMMAND ...``: the ``quadgym`` console command (:mod:`quadgym.commands`)."""

import sys

from quadgym.commands import main

if __name__ == "__main__":
    sys.exit(main())
