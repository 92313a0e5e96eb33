import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream

from pipeline.pipeline import LOCAL_RUNNER


class _CountElementsFn(beam.DoFn):
  def process(self, element):
    Metrics.counter('test', 'elements').inc()
    yield element


def test_counters_of_every_bundle_are_committed():
  # Three bundles of 1, 3 and 2 elements. Without the fix (applied by
  # tests/pipeline/conftest.py) the DirectRunner reports 1: only the first
  # bundle of the step on its worker thread.
  p = TestPipeline(runner=LOCAL_RUNNER, options=PipelineOptions(streaming=True))
  _ = (
    p
    | TestStream()
    .add_elements([1])
    .advance_watermark_to(10)
    .add_elements([2, 3, 4])
    .advance_watermark_to(20)
    .add_elements([5, 6])
    .advance_watermark_to_infinity()
    | beam.ParDo(_CountElementsFn())
  )
  result = p.run()
  result.wait_until_finish()
  [counter] = result.metrics().query()['counters']
  assert counter.committed == 6
