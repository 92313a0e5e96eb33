"""python -m pipeline [Beam and pipeline flags]: runs the view counter."""

import logging
import sys

from pipeline.options import InvalidOptionsError
from pipeline.pipeline import run
from pipeline.preflight import BigtableNotReadyError

if __name__ == '__main__':
  logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
  )
  try:
    run()
  except (InvalidOptionsError, BigtableNotReadyError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
