"""The synthetic load: deterministic for a seed, skewed, awkward, late."""

import collections
import itertools
import random

import pytest

from viewcounts import synthetic


def _take(n, **kwargs):
  return list(itertools.islice(synthetic.synthetic_views(**kwargs), n))


def test_same_seed_gives_the_same_views():
  first = _take(500, videos=50, seed=7)
  second = _take(500, videos=50, seed=7)

  assert first == second


def test_another_seed_gives_other_views():
  assert _take(100, videos=50, seed=1) != _take(100, videos=50, seed=2)


def test_event_ids_are_unique():
  views = _take(5000, videos=10, seed=3)

  assert len({view.event_id for view in views}) == len(views)


def test_zipf_sampler_is_deterministic():
  first = synthetic.ZipfSampler(20, 1.2, random.Random(5))
  second = synthetic.ZipfSampler(20, 1.2, random.Random(5))

  assert [first.sample() for _ in range(1000)] == [
    second.sample() for _ in range(1000)
  ]


def test_zipf_sampler_is_skewed():
  sampler = synthetic.ZipfSampler(20, 1.2, random.Random(5))
  ranks = collections.Counter(sampler.sample() for _ in range(20_000))

  assert set(ranks) <= set(range(20))
  # P(rank 0) / P(rank 1) = 2 ** 1.2, about 2.3; allow sampling noise.
  assert 2.0 < ranks[0] / ranks[1] < 2.7
  assert ranks[0] > ranks[5] > ranks[19]


def test_zipf_exponent_zero_is_uniform():
  sampler = synthetic.ZipfSampler(4, 0.0, random.Random(1))
  ranks = collections.Counter(sampler.sample() for _ in range(40_000))

  assert all(9_000 < ranks[rank] < 11_000 for rank in range(4))


def test_catalog_mixes_awkward_ids_into_popular_ranks():
  catalog = synthetic.video_catalog(100)

  assert len(catalog) == len(set(catalog)) == 100
  assert catalog[:5] == [
    'video-00000',
    'a',
    'video-00002',
    'video-00003',
    'a#b',
  ]
  assert set(synthetic.AWKWARD_VIDEO_IDS) <= set(catalog)


def test_awkward_ids_are_valid_video_ids():
  for video_id in synthetic.AWKWARD_VIDEO_IDS:
    assert video_id.strip()
    assert len(video_id.encode('utf-8')) <= 1024


def test_catalog_of_one_video():
  assert synthetic.video_catalog(1) == ['video-00000']


def test_late_fraction_and_bound():
  views = _take(10_000, videos=10, late_fraction=0.1, max_late_sec=20, seed=4)
  late = [view.late_by_ms for view in views if view.late_by_ms]

  assert 900 < len(late) < 1100
  assert all(1 <= late_by <= 20_000 for late_by in late)


def test_a_hot_share_goes_to_the_most_popular_video():
  views = _take(10_000, videos=5000, zipf_s=0.0, hot_share=0.5, seed=4)
  hot = sum(view.video_id == 'video-00000' for view in views)

  # Half the views, plus its 1-in-5,000 share of the uniform rest.
  assert 4800 < hot < 5200


def test_no_late_views_when_fraction_is_zero():
  views = _take(1000, videos=10, late_fraction=0.0, seed=4)

  assert not any(view.late_by_ms for view in views)


@pytest.mark.parametrize(
  'kwargs',
  [
    {'videos': 0},
    {'videos': 5, 'late_fraction': 1.5},
    {'videos': 5, 'max_late_sec': -1},
    {'videos': 5, 'zipf_s': -1},
    {'videos': 5, 'hot_share': 1.1},
  ],
)
def test_bad_parameters_fail_early(kwargs):
  with pytest.raises(ValueError):
    next(synthetic.synthetic_views(**kwargs))


def test_view_event_shape():
  view = synthetic.SyntheticView('a#b', 'id-1', 'user-7', 0)

  # 1,796,320,805,250 ms after the epoch is 2026-12-03T18:00:05.250Z.
  assert synthetic.view_event(view, 1_796_320_805_250) == {
    'videoId': 'a#b',
    'eventId': 'id-1',
    'eventTime': '2026-12-03T18:00:05.250Z',
    'userId': 'user-7',
  }


def test_view_event_without_user():
  view = synthetic.SyntheticView('a', 'id-1', None, 0)

  assert 'userId' not in synthetic.view_event(view, 0)
