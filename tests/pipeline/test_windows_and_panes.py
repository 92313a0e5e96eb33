"""Windows, panes, lateness and accounting on the DirectRunner (TestStream).

Case names refer to ../shared/CASES.md. The processing clock is stopped at
tests.streams.TEST_CLOCK.
"""

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.pipeline import LOCAL_RUNNER, build_pipeline
from tests.streams import (
  EARLY,
  LATE,
  ON_TIME,
  TEST_CLOCK,
  DescribePane,
  clock_at,
  count_views,
  options,
  raw,
  stream,
  ts,
  view,
)


def _c4_stream():
  return stream(
    ('watermark', '10:00:00'),
    ('10:00:20', [view('v1', '10:00:10'), view('v1', '10:00:20')]),
    ('watermark', '10:00:30'),
    ('10:00:40', [view('v1', '10:00:40')]),
    ('watermark', '10:01:10'),
    ('10:01:10', [view('v1', '10:00:50')]),
    ('watermark', '10:03:20'),
    ('10:03:20', [view('v1', '10:00:55')]),
  )


def test_c4_late_view_within_lateness_raises_thecount_views():
  # Three views before the watermark passes 10:01:00 (on-time pane 3); the
  # view at :50 arrives at watermark 10:01:10, within 60 s of lateness (late
  # pane 4); the view at :55 arrives at 10:03:20, after 10:02:00: too late.
  summary = count_views(
    _c4_stream(),
    [('v1', '10:00:00', 3, ON_TIME), ('v1', '10:00:00', 4, LATE)],
    [(view('v1', '10:00:55').data, 'too late')],
    allowed_lateness_sec=60,
  )
  assert summary == {
    'views_read': 5,
    'views_counted': 4,
    'views_duplicate': 0,
    'views_malformed': 0,
    'views_too_late': 1,
    # Nothing is written: the test asserts on the panes instead.
    'bigtable_rows_written': 0,
    'event_time_from_attribute': 0,
    'event_time_from_payload': 5,
    'event_time_from_publish_time': 0,
  }


def test_c4_without_lateness_both_late_views_are_too_late():
  summary = count_views(
    _c4_stream(),
    [('v1', '10:00:00', 3, ON_TIME)],
    [
      (view('v1', '10:00:50').data, 'too late'),
      (view('v1', '10:00:55').data, 'too late'),
    ],
    allowed_lateness_sec=0,
  )
  assert summary['views_counted'] == 3
  assert summary['views_too_late'] == 2


def test_several_videos_and_windows_are_counted_apart():
  # v1: 2 in W10:00, 1 in W10:01; v2: 1 in W10:00; a malformed message in
  # between is dead-lettered and does not disturb the others.
  test_stream = stream(
    (
      '10:00:30',
      [
        view('v1', '10:00:05'),
        view('v2', '10:00:06'),
        raw(b'{"videoId": "v1"'),
        view('v1', '10:00:59.999'),
      ],
    ),
    ('10:01:30', [view('v1', '10:01:00')]),
  )
  summary = count_views(
    test_stream,
    [
      ('v1', '10:00:00', 2, ON_TIME),
      ('v2', '10:00:00', 1, ON_TIME),
      ('v1', '10:01:00', 1, ON_TIME),
    ],
    [(b'{"videoId": "v1"', 'not JSON')],
  )
  assert summary['views_read'] == 5
  assert summary['views_malformed'] == 1
  assert summary['views_counted'] == 4


def test_c1_views_without_event_time_fall_back_to_publish_time_visibly():
  # v1 carries ts; both v9 views carry neither ts nor eventTime, so they
  # take their publish times (10:00:40 and 10:01:05): one per window.
  test_stream = stream(
    (
      '10:00:40',
      [view('v1', attributes={'ts': '2026-12-03T10:00:30Z'}), view('v9')],
    ),
    ('10:01:05', [view('v9')]),
  )
  p = TestPipeline(
    runner=LOCAL_RUNNER, options=options(timestamp_attribute='ts')
  )
  outputs = build_pipeline(
    p,
    p.options,
    source=test_stream,
    clock=clock_at(TEST_CLOCK),
    write_results=False,
  )
  assert_that(
    outputs.counts | beam.ParDo(DescribePane()),
    equal_to(
      [
        ('v1', '10:00:00', 1, ON_TIME),
        ('v9', '10:00:00', 1, ON_TIME),
        ('v9', '10:01:00', 1, ON_TIME),
      ]
    ),
  )
  result = p.run()
  result.wait_until_finish()
  counters = {
    c.key.metric.name: c.committed
    for c in result.metrics().query()['counters']
    if c.key.metric.name.startswith('event_time_from_')
  }
  assert counters == {
    'event_time_from_attribute': 1,
    'event_time_from_publish_time': 2,
  }


def test_c2_bad_time_attribute_does_not_poison_its_neighbours():
  test_stream = stream(
    (
      '10:00:40',
      [
        view('v1', attributes={'ts': '2026-12-03T10:00:30Z'}),
        view('v2', attributes={'ts': 'yesterday'}),
      ],
    ),
  )
  summary = count_views(
    test_stream,
    [('v1', '10:00:00', 1, ON_TIME)],
    [(view('v2').data, 'bad event time')],
    timestamp_attribute='ts',
  )
  assert summary['views_counted'] == 1
  assert summary['views_malformed'] == 1


def test_c5_early_panes_only_ever_rise():
  # Early firings every second of processing time; each view is followed
  # by a watermark step so a processing-time firing can happen in between.
  # Accumulating panes would be 2, 3, 3 (on time, nothing new), 4: the
  # repeated 3 is dropped, so what reaches Bigtable is 2, 3, 4.
  test_stream = (
    beam.testing.test_stream.TestStream()
    .advance_watermark_to(ts('10:00:00'))
    .add_elements([view('v1', '10:00:10'), view('v1', '10:00:20')])
    .advance_processing_time(2)
    .advance_watermark_to(ts('10:00:30'))
    .add_elements([view('v1', '10:00:40')])
    .advance_processing_time(2)
    .advance_watermark_to(ts('10:01:10'))
    .add_elements([view('v1', '10:00:50')])
    .advance_watermark_to_infinity()
  )
  summary = count_views(
    test_stream,
    [
      ('v1', '10:00:00', 2, EARLY),
      ('v1', '10:00:00', 3, EARLY),
      ('v1', '10:00:00', 4, LATE),
    ],
    [],
    early_firing_sec=1,
    allowed_lateness_sec=60,
  )
  assert summary['views_counted'] == 4


def test_a_view_whose_window_closed_long_ago_is_too_late_at_start_up():
  # The gate has seen no timer fire yet, so it cannot know the watermark
  # and judges by the clock (10:00:30): W09:40 closed for late data at 09:41
  # (no lateness), so its view is too late, not passed on to be dropped
  # unseen; the view of W10:00 (deadline 10:01:00, ahead of the clock) is
  # counted.
  old, fresh = view('v1', '09:40:10'), view('v1', '10:00:10')
  summary = count_views(
    stream(('10:00:20', [old, fresh])),
    [('v1', '10:00:00', 1, ON_TIME)],
    [(old.data, 'too late')],
    allowed_lateness_sec=0,
  )
  assert summary['views_too_late'] == 1
  assert summary['views_counted'] == 1
