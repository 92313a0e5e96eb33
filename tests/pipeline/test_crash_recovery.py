"""A pipeline killed with -9 mid-stream, restarted per the README, ends exact.

The DirectRunner acknowledges messages when it pulls them and keeps window
state in memory, so a kill loses the open windows' counts. The restart runs
the same command with --replay_on_start, which seeks the subscription back
by window + allowed lateness + future skew; the recount, dedup and the
monotone writes make the stored counts exact.
"""

import datetime
import json
import math
import time

from google.cloud import pubsub_v1

from viewcounts import local_run, publish, query, truth, verify

REPLAY = ['--replay_on_start']


def test_c6_restart_splits_a_window(provisioned, tmp_path):
  # Run 1 counts three views of v1 early in a 60 s window and writes an
  # early pane of 3, then is killed before the window closes; two more views
  # of that window are published while nothing runs. A replacement counting
  # only new messages would store 2 (overwrite) or keep 3 (highest wins);
  # the replay makes 5.
  window_sec = 60
  start = _next_window_start(window_sec)
  window = datetime.datetime.fromtimestamp(start, datetime.UTC)
  early = ['--early_firing_sec=1']
  table = provisioned.bigtable_table()

  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'run1.log'), window_sec, early
  ) as run1:
    _publish(
      provisioned, [_view_at('v1', start + s, f'e{s}') for s in (1, 3, 5)]
    )
    # On a quiet stream the DirectRunner fires early panes only when the
    # reader's idle pull returns (CASES C10).
    deadline = local_run.PULL_WAIT_SEC + 15
    assert _wait_for(table, 'v1', window, 3, run1, deadline) == 3
    assert time.time() < start + window_sec, 'the window closed already'
    run1.kill()

  _publish(provisioned, [_view_at('v1', start + s, f'e{s}') for s in (12, 15)])
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'run2.log'), window_sec, early + REPLAY
  ) as run2:
    wait = start + window_sec - time.time() + local_run.PULL_WAIT_SEC + 20
    assert _wait_for(table, 'v1', window, 5, run2, wait) == 5
    figures = run2.stop()
  # The replacement read all five again: the replay brought back the three
  # run 1 had acknowledged.
  assert figures['views_read'] == 5
  assert figures['views_counted'] == 5


def test_killed_mid_stream_and_restarted_ends_exact(provisioned, tmp_path):
  window_sec = 10
  flags = ['--early_firing_sec=2']
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'run1.log'), window_sec, flags
  ) as run1:
    before = _publish_synthetic(provisioned, window_sec, seed=1)
    # Kill while the last windows are still open: some early panes are
    # written, the rest of the counts live only in memory.
    run1.kill()
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'run2.log'), window_sec, flags + REPLAY
  ) as run2:
    after = _publish_synthetic(provisioned, window_sec, seed=2)
    expected = truth.merge(before.truth, after.truth)
    comparison = local_run.wait_for_counts(
      provisioned, expected, run2, local_run.close_wait_sec(window_sec)
    )
    figures = run2.stop()
  assert comparison.exact, verify.describe(comparison)
  published = before.published + after.published
  print(
    f'\ncrash test: published {published}, run 2 read '
    f'{figures["views_read"]} and counted {figures["views_counted"]}'
  )
  assert figures['views_read'] == published
  assert figures['views_counted'] == published


def _publish_synthetic(resources, window_sec, seed):
  return publish.publish_synthetic(
    resources.topic_path,
    rate=50,
    duration_sec=6,
    videos=30,
    seed=seed,
    window_size_sec=window_sec,
  )


def _next_window_start(window_sec):
  # At least 3 s ahead, so run 1 has started before its views' window.
  return math.ceil((time.time() + 3) / window_sec) * window_sec


def _view_at(video_id, epoch_sec, event_id):
  """A view's message body with its event time at epoch_sec."""
  at = datetime.datetime.fromtimestamp(epoch_sec, datetime.UTC)
  event_time = at.isoformat(timespec='milliseconds').replace('+00:00', 'Z')
  return json.dumps(
    {'videoId': video_id, 'eventId': event_id, 'eventTime': event_time}
  ).encode()


def _publish(resources, bodies):
  with pubsub_v1.PublisherClient() as publisher:
    futures = [publisher.publish(resources.topic_path, b) for b in bodies]
    for future in futures:
      future.result(timeout=30)


def _wait_for(table, video_id, window_start, views, pipeline, wait_sec):
  """The stored count of one window once it reaches views, or at deadline."""
  deadline = time.monotonic() + wait_sec
  while True:
    stored = {
      count.window_start: count.views
      for count in query.read_video_counts(table, video_id)
    }.get(window_start)
    if stored == views or time.monotonic() > deadline:
      return stored
    pipeline.check_alive()
    time.sleep(0.5)
