import sys

from gan_eval.cli import main

sys.exit(main())
