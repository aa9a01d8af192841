"""The chart README's values table, checked or rewritten (testsupport.chart.values_doc):

.venv/bin/python charts/wazen-ai/tests/values_doc.py          # check: exit 1 if stale
.venv/bin/python charts/wazen-ai/tests/values_doc.py --write  # rewrite the table
"""

import sys

from testsupport.chart.values_doc import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
