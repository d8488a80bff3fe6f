import sys

from pydl.cli import main

sys.exit(main())
