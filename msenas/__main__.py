import sys

from msenas.cli import main

sys.exit(main())
