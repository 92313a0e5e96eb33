"""python -m pipeline [Beam and pipeline flags]: runs the view counter."""

import logging

from pipeline.pipeline import run

if __name__ == '__main__':
  logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
  )
  run()
