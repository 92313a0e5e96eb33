"""The pipeline process against the real emulators: Pub/Sub in, Bigtable out.

Each test starts `python -m pipeline` on the DirectRunner as a user would,
publishes, and waits for the counts with a deadline (CASES C10: a window
can fire up to 30 s after it ends, when the reader's idle pull returns),
never a fixed sleep.
"""

import argparse
import json
import subprocess
import sys
import time

from google.cloud import pubsub_v1

from tests.viewcounts.emulator_helpers import cli_flags, pull
from transforms.dead_letter import REASON_ATTRIBUTE
from viewcounts import local_run, messages, publish, query

WINDOW_SEC = 5


def test_published_views_end_as_exact_counts(provisioned, tmp_path):
  args = argparse.Namespace(
    rate=60, duration_sec=6, videos=40, seed=7, window_size_sec=WINDOW_SEC,
    work_dir=str(tmp_path), pipeline_args=[])  # fmt: skip
  report = local_run.run(args, provisioned)

  assert report.comparison.exact, report.comparison
  # Every message read once and counted once (DESIGN.md "Accounting").
  figures = report.accounting
  assert figures == {
    'views_read': 360, 'views_counted': 360, 'views_duplicate': 0,
    'views_malformed': 0, 'views_too_late': 0,
    'bigtable_rows_written': figures['bigtable_rows_written'],
    'event_time_from_attribute': 0, 'event_time_from_payload': 360,
    'event_time_from_publish_time': 0}  # fmt: skip
  # One write per (video, window), plus one per late pane: never per view.
  assert report.windows <= figures['bigtable_rows_written'] < 360
  # CASES C12: exactly one row per (video, window) of the truth, no more.
  stored = query.read_all_counts(provisioned.bigtable_table())
  assert len(stored) == report.windows
  # Read back the way a user would: viewcounts query --json.
  [(top_video, total)] = query.top_videos(stored, 1)
  output = subprocess.run(
    [sys.executable, '-m', 'viewcounts', 'query', *cli_flags(provisioned),
     '--video', top_video, '--json'],
    check=True, capture_output=True, text=True).stdout  # fmt: skip
  rows = [json.loads(line) for line in output.splitlines()]
  assert {row['videoId'] for row in rows} == {top_video}
  assert sum(row['views'] for row in rows) == total


def test_malformed_and_bad_times_are_dead_lettered_not_lost(
  provisioned, tmp_path
):
  # CASES C8 then C2, published back to back so they share pulls. Without
  # eventTime the views take their publish time, which is now.
  lines = [
    {'data': '{"videoId": "v1"'},
    {'data_base64': '//4A'},  # bytes FF FE 00
    {'data': {'video_id': 'v1'}},
    {'data': []},
    {'data': {'videoId': 123}},
    {'data': {'videoId': ''}},
    {'data': {'videoId': None}},
    {'data': {}},
    {'data': {'videoId': 'v1'}},
    {'data': {'videoId': 'v1'}},
    {'data': {'videoId': 'v2'}},
    {'data': {'videoId': 'c2-v1'}, 'attributes': {'ts': _now_rfc3339()}},
    {'data': {'videoId': 'c2-v2'}, 'attributes': {'ts': 'yesterday'}},
  ]
  file_messages = messages.parse_lines(json.dumps(line) for line in lines)
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'pipeline.log'), WINDOW_SEC,
    ['--timestamp_attribute=ts'],
  ) as pipeline:  # fmt: skip
    publish.publish_messages(provisioned.topic_path, file_messages)
    expected = {'v1': 2, 'v2': 1, 'c2-v1': 1}
    totals = _wait_for_totals(provisioned, expected, pipeline)
    figures = pipeline.stop()

  assert totals == expected
  assert figures == {
    'views_read': 13, 'views_counted': 4, 'views_duplicate': 0,
    'views_malformed': 9, 'views_too_late': 0,
    'bigtable_rows_written': 3,
    # v1 and v2 (C8) without a time take publish time; c2-v1 its attribute.
    'event_time_from_attribute': 1, 'event_time_from_payload': 0,
    'event_time_from_publish_time': 3}  # fmt: skip
  dead = pull(provisioned.dead_letter_subscription_path, expected=9)
  sent = {m.data: m for m in file_messages}
  assert sorted(m.data for m in dead) == sorted(
    m.data for m in file_messages[:8] + file_messages[12:]
  )
  for message in dead:
    assert message.attributes[REASON_ATTRIBUTE]
    for name, value in sent[message.data].attributes.items():
      assert message.attributes[name] == value
  reasons = {m.data: m.attributes[REASON_ATTRIBUTE] for m in dead}
  assert reasons[file_messages[12].data] == 'bad event time'
  assert reasons[file_messages[1].data] == 'not UTF-8'
  # The pipeline took every message over: nothing is left to redeliver.
  assert _pull_once(provisioned.subscription_path) == []


def _wait_for_totals(resources, expected, pipeline):
  deadline = time.monotonic() + local_run.close_wait_sec(WINDOW_SEC)
  table = resources.bigtable_table()
  while True:
    totals = dict(query.top_videos(query.read_all_counts(table), 100))
    if totals == expected or time.monotonic() > deadline:
      return totals
    pipeline.check_alive()
    time.sleep(1)


def _pull_once(subscription_path):
  with pubsub_v1.SubscriberClient() as subscriber:
    response = subscriber.pull(
      subscription=subscription_path, max_messages=100, timeout=5
    )
  return list(response.received_messages)


def _now_rfc3339():
  return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
