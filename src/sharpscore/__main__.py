"""``python -m sharpscore ...`` (and ``torchrun -m sharpscore score ...``): the command line."""

import sys

from .cli import main

sys.exit(main())
