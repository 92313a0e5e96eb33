"""Windows, panes and lateness, end to end on the DirectRunner (TestStream).

Case names refer to ../shared/CASES.md.
"""

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.pipeline import LOCAL_RUNNER, build_pipeline
from tests.streams import clock_at, options, stream, view


def _panes(counts):
  """(video, views) per pane -> (video, window start, views, timing)."""

  class _Describe(beam.DoFn):
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

  return counts | beam.ParDo(_Describe())


def _run(test_stream, clock='10:10:00', **flags):
  p = TestPipeline(runner=LOCAL_RUNNER, options=options(**flags))
  outputs = build_pipeline(
    p, p.options, source=test_stream, clock=clock_at(clock), write_results=False
  )
  return p, outputs


def test_c4_late_view_within_lateness_raises_the_count():
  # v1: 3 views on time in W10:00, a 4th after the watermark passed the
  # window end (late, within 60 s), a 5th after 10:02:00 (too late).
  test_stream = stream(
    ('watermark', '10:00:00'),
    ('10:00:20', [view('v1', '10:00:10'), view('v1', '10:00:20')]),
    ('watermark', '10:00:30'),
    ('10:00:40', [view('v1', '10:00:40')]),
    ('watermark', '10:01:10'),
    ('10:01:10', [view('v1', '10:00:50')]),
    ('watermark', '10:03:20'),
    ('10:03:20', [view('v1', '10:00:55')]),
  )
  p, outputs = _run(test_stream, allowed_lateness_sec=60)
  assert_that(
    _panes(outputs.counts),
    equal_to([('v1', '10:00:00', 3, 1), ('v1', '10:00:00', 4, 2)]),
    label='Panes',
  )
  assert_that(
    outputs.dead_letters | beam.Map(lambda d: d.reason),
    equal_to(['too late']),
    label='DeadLetters',
  )
  p.run()
