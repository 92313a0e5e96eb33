"""Lets the DirectRunner run every bundle of a step with the same DoFn.

Beam 2.77's DirectRunner pickles and unpickles a fresh copy of a step's
DoFn for every bundle, a check that the DoFn can be shipped to workers. A
streaming run has a bundle for every key that fires after a GroupByKey, so
every pane written paid for a new DoFn, and Beam's WriteToBigTable makes
its Bigtable client in start_bundle when its copy has none: a new client
and connection for every row. Other runners keep a DoFn instance for many
bundles; this makes local runs do the same. setup and teardown still run
around every bundle, as the DirectRunner calls them.

It is applied by ``pipeline.run`` for local runs only; the tests keep
Beam's pickling check. It is a no-op once applied.
"""

import functools

from apache_beam.runners.direct import transform_evaluator

_PATCHED = '_viewcounts_dofn_reused'


def reuse_dofns_across_bundles(
  evaluator: type = transform_evaluator._ParDoEvaluator,
) -> None:
  init = evaluator.__init__
  if getattr(init, _PATCHED, False):
    return

  @functools.wraps(init)
  def init_without_pickle_test(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self._perform_dofn_pickle_test = False

  setattr(init_without_pickle_test, _PATCHED, True)
  evaluator.__init__ = init_without_pickle_test
