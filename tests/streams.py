"""Builders for test inputs: Pub/Sub messages and TestStreams of them.

Times are UTC on one fixed day, written as 'HH:MM:SS' like CASES.md.
"""

import datetime
import json

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from pipeline.pipeline import LOCAL_RUNNER, accounting_summary, build_pipeline

DAY = datetime.date(2026, 12, 3)
# The processing clock of TestStream runs: a little after the first windows
# of the test day, as it would be while they are being counted, so that
# their views are neither in the future nor long past.
TEST_CLOCK = '10:00:30'
SUBSCRIPTION = 'projects/test-project/subscriptions/views'


def at(hhmmss: str) -> datetime.datetime:
  clock = datetime.time.fromisoformat(hhmmss)
  return datetime.datetime.combine(DAY, clock, tzinfo=datetime.UTC)


def ts(hhmmss: str) -> Timestamp:
  return Timestamp.from_utc_datetime(at(hhmmss))


def clock_at(hhmmss: str):
  """A processing clock stopped at a time of the test day."""
  seconds = at(hhmmss).timestamp()
  return lambda: seconds


def view(
  video_id,
  event_time: str | None = None,
  event_id=None,
  attributes=None,
  **fields,
) -> PubsubMessage:
  payload = {'videoId': video_id, **fields}
  if event_time is not None:
    payload['eventTime'] = at(event_time).isoformat().replace('+00:00', 'Z')
  if event_id is not None:
    payload['eventId'] = event_id
  return PubsubMessage(json.dumps(payload).encode(), attributes or {})


def raw(data: bytes, attributes=None) -> PubsubMessage:
  return PubsubMessage(data, attributes or {})


def options(**flags) -> PipelineOptions:
  """Pipeline options as the command line would give them."""
  flags.setdefault('input_subscription', SUBSCRIPTION)
  flags.setdefault('bigtable_instance_id', 'test-instance')
  flags.setdefault('project', 'test-project')
  argv = [f'--{name}={value}' for name, value in flags.items()]
  return PipelineOptions(argv, streaming=True)


def stream(*steps) -> TestStream:
  """steps: ('watermark', 'HH:MM:SS'), or (publish time, [messages])."""
  test_stream = TestStream()
  for kind, arg in steps:
    if kind == 'watermark':
      test_stream = test_stream.advance_watermark_to(ts(arg))
    else:
      test_stream = test_stream.add_elements(
        [_timestamped(message, ts(kind)) for message in arg]
      )
  return test_stream.advance_watermark_to_infinity()


def _timestamped(message, publish_time):
  return TimestampedValue(message, publish_time)


ON_TIME, LATE, EARLY = (
  PaneInfoTiming.ON_TIME,
  PaneInfoTiming.LATE,
  PaneInfoTiming.EARLY,
)


class DescribePane(beam.DoFn):
  """(video, views) -> (video, window start HH:MM:SS, views, pane timing)."""

  def process(
    self, video_count, w=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam
  ):
    video_id, views = video_count
    yield (
      video_id,
      w.start.to_utc_datetime().strftime('%H:%M:%S'),
      views,
      pane.timing,
    )


def count_views(test_stream, expected_panes, expected_dead_letters, **flags):
  """Runs the pipeline over test_stream on the DirectRunner, asserts its
  panes and dead letters (data, reason), and returns its accounting.

  The processing clock is stopped at TEST_CLOCK.
  """
  p = TestPipeline(runner=LOCAL_RUNNER, options=options(**flags))
  outputs = build_pipeline(
    p,
    p.options,
    source=test_stream,
    clock=clock_at(TEST_CLOCK),
    write_results=False,
  )
  assert_that(
    outputs.counts | beam.ParDo(DescribePane()),
    equal_to(expected_panes),
    label='Panes',
  )
  assert_that(
    outputs.dead_letters | beam.Map(lambda d: (d.data, d.reason)),
    equal_to(expected_dead_letters),
    label='DeadLetters',
  )
  result = p.run()
  result.wait_until_finish()
  return accounting_summary(result)
