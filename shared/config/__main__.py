"""``python -m shared.config docs/configuration.md``: regenerate the document's tables."""

import sys

from shared.config.document import main

sys.exit(main(sys.argv[1:]))
