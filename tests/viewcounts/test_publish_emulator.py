"""publish on the emulator: exact bytes and attributes, and a true truth."""

import collections
import datetime
import json
import re

import pytest

from tests.viewcounts.emulator_helpers import cli_flags, pull
from viewcounts import cli, jsonl, publish, truth

pytestmark = pytest.mark.emulator

_EVENT_TIME = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')


def test_from_file_sends_exact_bytes_and_attributes(
  provisioned, tmp_path, capsys
):
  now = datetime.datetime.now(datetime.timezone.utc)
  event_time = now.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
  lines = [
    {'data': {'videoId': 'a#b', 'eventId': 'e1', 'eventTime': event_time}},
    # The same eventId again: sent, but counted once in the truth.
    {'data': {'videoId': 'a#b', 'eventId': 'e1', 'eventTime': event_time}},
    {'data': '{"videoId": "a"', 'attributes': {'case': 'truncated'}},
    {'data_base64': '/w==', 'attributes': {'case': 'not UTF-8'}},
    {'data': {'videoId': 'no time'}, 'attributes': {'ts': '1'}},
  ]
  source = tmp_path / 'messages.jsonl'
  source.write_text(
    ''.join(json.dumps(line) + '\n' for line in lines), encoding='utf-8'
  )
  truth_file = tmp_path / 'truth.jsonl'

  code = cli.main(
    [
      'publish',
      '--from-file',
      str(source),
      '--truth',
      str(truth_file),
      *cli_flags(provisioned),
    ]
  )

  assert code == 0
  summary = capsys.readouterr().out
  assert summary.startswith('published 5 views in ')
  assert summary.endswith(', 0 failed, 3 left out of the truth\n')
  received = pull(provisioned.subscription_path, 5)
  assert sorted((m.data, dict(m.attributes)) for m in received) == sorted(
    [
      (f'{{"videoId":"a#b","eventId":"e1","eventTime":"{event_time}"}}'
       .encode(), {}),
      (f'{{"videoId":"a#b","eventId":"e1","eventTime":"{event_time}"}}'
       .encode(), {}),
      (b'{"videoId": "a"', {'case': 'truncated'}),
      (b'\xff', {'case': 'not UTF-8'}),
      (b'{"videoId":"no time"}', {'ts': '1'}),
    ]
  )  # fmt: skip
  [row] = jsonl.read_file(str(truth_file))
  assert (row.video_id, row.views, row.window_size_sec) == ('a#b', 1, 60)
  assert row.window_start <= now < row.window_end


def test_synthetic_truth_is_what_was_sent(provisioned):
  result = publish.publish_synthetic(
    provisioned.topic_path,
    rate=500,
    duration_sec=1,
    videos=30,
    late_fraction=0.2,
    max_late_sec=5,
    seed=11,
  )

  assert (result.published, result.failed) == (500, 0)
  assert 0.9 < result.elapsed_sec < 10
  received = pull(provisioned.subscription_path, 500)
  assert len(received) == 500
  # Recount from the bytes that arrived, with the rules the pipeline uses.
  recount = truth.TruthCounter(60)
  late = 0
  for message in received:
    event = json.loads(message.data)
    assert _EVENT_TIME.fullmatch(event['eventTime'])
    countable = truth.countable_event(
      message.data, datetime.datetime.now(datetime.timezone.utc)
    )
    recount.add(countable.video_id, countable.event_time, countable.event_id)
    published = message.publish_time
    late += countable.event_time < published - datetime.timedelta(seconds=1)
  assert recount.rows() == result.truth
  assert len({json.loads(m.data)['eventId'] for m in received}) == 500
  # 20% of 500 are late by 1 ms to 5 s; over 1 s for most of them.
  assert 50 < late < 110
  videos = collections.Counter(json.loads(m.data)['videoId'] for m in received)
  assert 'a#b' in videos and 'A' in videos


def test_cli_synthetic_writes_the_truth(provisioned, tmp_path, capsys):
  truth_file = tmp_path / 'truth.jsonl'

  code = cli.main(
    [
      'publish',
      '--rate', '200',
      '--duration', '0.5',
      '--videos', '5',
      '--truth', str(truth_file),
      *cli_flags(provisioned),
    ]
  )  # fmt: skip

  assert code == 0
  assert capsys.readouterr().out.startswith('published 100 views in ')
  assert sum(row.views for row in jsonl.read_file(str(truth_file))) == 100
