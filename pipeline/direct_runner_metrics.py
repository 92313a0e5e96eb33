"""Makes the DirectRunner's Beam counters exact in streaming pipelines.

Beam 2.77's DirectRunner gives each worker thread one StateSampler, and the
sampler caches its per-step states together with the metrics container of
the first bundle it saw. Every later bundle of that step on that thread
increments the first bundle's container, which was committed already, so
its counts never reach ``result.metrics()``: a streaming run reports only
the first bundle of each step per thread. The accounting identity of
DESIGN.md cannot be checked on such figures.

The fix gives every bundle a sampler of its own, so each bundle's counters
land in the container that the runner commits. It is applied only to local
runs (``pipeline.run`` on the DirectRunner, and the tests), and is a no-op
once applied.
"""

import functools

from apache_beam.runners.direct import executor
from apache_beam.runners.worker import statesampler
from apache_beam.utils import counters

_PATCHED = '_viewcounts_fresh_sampler_per_bundle'


def give_each_bundle_its_own_metrics() -> None:
  call = executor.TransformExecutor.call
  if getattr(call, _PATCHED, False):
    return

  @functools.wraps(call)
  def call_with_fresh_sampler(self, thread_sampler):
    bundle_sampler = statesampler.StateSampler('', counters.CounterFactory())
    statesampler.set_current_tracker(bundle_sampler)
    try:
      return call(self, bundle_sampler)
    finally:
      statesampler.set_current_tracker(thread_sampler)

  setattr(call_with_fresh_sampler, _PATCHED, True)
  executor.TransformExecutor.call = call_with_fresh_sampler
