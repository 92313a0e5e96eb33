"""Duplicates are counted once per video and window (TestStream).

Case names refer to ../shared/CASES.md.
"""

from tests.streams import LATE, ON_TIME, count_views, stream, view


def test_redelivered_views_are_counted_once():
  # e1 arrives three times: twice in one pull, once in a later pull after
  # the window already fired (a late redelivery within the lateness).
  # e2 twice. Five messages, two views.
  summary = count_views(
    stream(
      ('watermark', '10:00:00'),
      (
        '10:00:20',
        [view('v1', '10:00:10', 'e1'), view('v1', '10:00:10', 'e1')],
      ),
      (
        '10:00:30',
        [view('v1', '10:00:25', 'e2'), view('v1', '10:00:25', 'e2')],
      ),
      ('watermark', '10:01:10'),
      ('10:01:15', [view('v1', '10:00:10', 'e1')]),
    ),
    [('v1', '10:00:00', 2, ON_TIME)],
    [],
    allowed_lateness_sec=60,
  )
  assert summary['views_read'] == 5
  assert summary['views_counted'] == 2
  assert summary['views_duplicate'] == 3


def test_the_same_event_id_in_another_video_or_window_is_another_view():
  # Dedup is per (video, window): e1 of v1, e1 of v2 and e1 of v1 a minute
  # later are three views.
  summary = count_views(
    stream(
      (
        '10:01:30',
        [
          view('v1', '10:00:10', 'e1'),
          view('v2', '10:00:10', 'e1'),
          view('v1', '10:01:10', 'e1'),
        ],
      ),
    ),  # fmt: skip
    [
      ('v1', '10:00:00', 1, ON_TIME),
      ('v2', '10:00:00', 1, ON_TIME),
      ('v1', '10:01:00', 1, ON_TIME),
    ],  # fmt: skip
    [],
  )
  assert summary['views_duplicate'] == 0
  assert summary['views_counted'] == 3


def test_views_without_event_id_are_counted_as_they_come():
  summary = count_views(
    stream(('10:00:30', [view('v1', '10:00:10'), view('v1', '10:00:10')])),
    [('v1', '10:00:00', 2, ON_TIME)],
    [],
  )
  assert summary['views_duplicate'] == 0


def test_a_late_copy_of_a_counted_view_does_not_raise_the_count():
  # The first copy is late but within the lateness (late pane 2); its copy
  # after that adds nothing and writes nothing.
  summary = count_views(
    stream(
      ('10:00:30', [view('v1', '10:00:10', 'e1')]),
      ('watermark', '10:01:10'),
      ('10:01:20', [view('v1', '10:00:20', 'e2')]),
      ('10:01:30', [view('v1', '10:00:20', 'e2')]),
    ),
    [('v1', '10:00:00', 1, ON_TIME), ('v1', '10:00:00', 2, LATE)],
    [],
    allowed_lateness_sec=60,
  )
  assert summary['views_duplicate'] == 1


def test_c3_id_attribute_on_the_direct_runner():
  # Beam's DirectRunner raises NotImplementedError for the read's id_label;
  # with --id_attribute the pipeline still runs and dedups by eventId.
  summary = count_views(
    stream(
      ('10:00:30', [view('v1', '10:00:10', 'e1'), view('v1', '10:00:10', 'e1')])
    ),  # fmt: skip
    [('v1', '10:00:00', 1, ON_TIME)],
    [],
    id_attribute='eventId',
  )
  assert summary['views_counted'] == 1
