"""The benchmark's figures are computed right: each from known inputs."""

import datetime
import json
import math

import pytest

from bench import report
from bench.backfill import BackfillFigures, count_with_loop, write_archive
from bench.cases import (
  PER_VIEW,
  PIPELINE,
  Accuracy,
  CrashFigures,
  LatencyFigures,
  StreamingFigures,
  compare,
  percentile,
  taken_rate,
)
from transforms.schema import WindowCount

W10 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)
EXACT = Accuracy(True, 0, 0)


def streaming(contender, mutations, views_per_sec=200.0, exact=EXACT):
  # 2,000 messages into 150 rows, 50 of which got a late view: the floor
  # is 200 writes, 100 per 1,000 views.
  return StreamingFigures(
    contender, 2000, 150, 50, mutations, exact, views_per_sec
  )


def test_mutations_and_the_floor_per_1000_views():
  figures = streaming(PIPELINE, 210)
  assert figures.mutations_per_1000 == 105
  assert figures.floor_per_1000 == 100


@pytest.mark.parametrize(
  'values, p50, p95',
  [
    ([3.0, 1.0, 2.0], 2.0, 3.0),
    (list(range(1, 101)), 50, 95),
    ([7.0], 7.0, 7.0),
  ],
)
def test_nearest_rank_percentiles(values, p50, p95):
  assert percentile(values, 0.50) == p50
  assert percentile(values, 0.95) == p95


def test_no_values_have_no_percentile():
  assert math.isnan(percentile([], 0.5))


def test_the_rate_taken_is_read_between_samples():
  # 100 views a second from t=10 to t=20, then idle.
  samples = [(0, 0), (10, 0), (12, 200), (14, 400), (20, 1000), (30, 1000)]
  # At t=11: 100 taken (half way from 0 to 200); at t=17: 700.
  assert taken_rate(samples, 11, 17) == 100
  # From t=15 (500) to t=25 (1,000): 50 a second.
  assert taken_rate(samples, 15, 25) == 50


def test_samples_that_do_not_cover_the_span_give_no_rate():
  assert math.isnan(taken_rate([(0, 0), (4, 10)], 1, 5))


def count(video, views, minute=0):
  return WindowCount(video, W10 + datetime.timedelta(minutes=minute), 60, views)


def test_views_over_and_under_the_truth():
  truth = [count('a', 5), count('b', 3), count('c', 1)]
  stored = [count('a', 7), count('b', 1), count('x', 4)]
  # a: 2 over; b: 2 under; c: 1 under (missing); x: 4 over (unexpected).
  assert compare(truth, stored) == Accuracy(False, 6, 3)
  assert compare(truth, truth) == Accuracy(True, 0, 0)


def test_the_loop_counts_an_archive_per_video_and_window(tmp_path):
  archive = tmp_path / 'views.jsonl'
  write_archive(str(archive), views=500, videos=7, hours=0.1)
  counts = count_with_loop(str(archive), 60)
  assert sum(counts.values()) == 500
  assert all(window % 60 == 0 for _, window in counts)


def full_results() -> report.Results:
  return report.Results(
    command='python -m bench',
    mutations=[streaming(PER_VIEW, 2000), streaming(PIPELINE, 210)],
    offered_views_per_sec=4000,
    throughput=[
      streaming(PER_VIEW, 2000, views_per_sec=500),
      streaming(PIPELINE, 210, views_per_sec=2500),
      streaming(PIPELINE, 210, views_per_sec=2000),
      streaming(PIPELINE, 210, views_per_sec=4000),
    ],
    latency=[LatencyFigures(PIPELINE, 90, 90, 31.0, 58.0)],
    crash=[
      CrashFigures(PER_VIEW, 400, Accuracy(False, 5, 0)),
      CrashFigures(PIPELINE, 400, EXACT),
    ],
    hot_key=[streaming('without fanout', 210)],
    backfill=[
      BackfillFigures(1000, 10, 1.0, 3.0, True),
      BackfillFigures(1000, 10, 1.0, 5.0, True),
      BackfillFigures(1000, 10, 1.0, 3.5, True),
    ],
  )


def test_the_table_states_medians_ratios_and_verdicts():
  text = report.markdown(full_results())
  # 105 against a floor of 100: 5% over, within the 10% target.
  assert '| pipeline | 2,000 | 150 | 50 | 210 | 105.0 | 100.0 | +5.0% |' in text
  assert 'within 10% of the floor. Met.' in text
  # Medians: 2,500 against 500 views/s.
  assert '| pipeline | 3 | 2,500, 2,000, 4,000 | 2,500 | yes |' in text
  assert 'Views offered at 4,000 a second' in text
  assert 'takes 5.00 times as many views a second' in text
  assert 'ahead of the per-view counter. Met.' in text
  assert '| per-view counter | 400 | 0 | 5 | NO |' in text
  # Backfill: the median of 3.0, 5.0 and 3.5 times the loop.
  assert 'takes 3.5 times as long as the loop' in text
  assert 'at most 4 times. Met.' in text


def test_a_missed_target_says_so():
  results = full_results()._replace(
    mutations=[streaming(PIPELINE, 240)],
    backfill=[BackfillFigures(1000, 10, 1.0, 4.5, True)],
  )
  text = report.markdown(results)
  assert '+20.0%' in text and 'of the floor. Missed.' in text
  assert 'at most 4 times. Missed.' in text


def test_a_case_not_run_is_left_out():
  text = report.markdown(report.Results(command='python -m bench'))
  assert '##' not in text


def test_the_chart_is_a_png(tmp_path):
  path = tmp_path / 'chart.png'
  report.chart(full_results(), str(path))
  assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_results_survive_json_and_render_the_same(tmp_path):
  results = full_results()
  data = json.loads(json.dumps(report.to_json(results)))
  assert report.from_json(data) == results
  assert report.markdown(report.from_json(data)) == report.markdown(results)


def test_hot_key_rows_are_named_by_their_flags():
  text = report.markdown(full_results())
  assert '| without fanout | 2,000 | 200 | yes |' in text
