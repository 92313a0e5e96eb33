"""Synthetic views: Zipf-skewed video picks, awkward ids, some late arrivals.

Everything but the clock is drawn from one seeded random.Random, so a seed
gives the same sequence of views (video, eventId, userId, lateness) on every
run; the event time is stamped when a view is published.
"""

import bisect
import itertools
import random
import uuid
from collections.abc import Iterator
from typing import NamedTuple

from viewcounts import times

# Ids a key encoding or a query can get wrong: separators, a percent-encoded
# twin of another id, case and Unicode normalisation twins, edge white space,
# emoji, and the 1,024-byte limit (one of them reaches it in 4-byte emoji).
AWKWARD_VIDEO_IDS = (
  'a',
  'a#b',
  'A',
  'a/b',
  'a b',
  'a%23b',
  '%41',
  '\U0001f3ac trailer',
  'caf\u00e9',
  'cafe\u0301',
  ' padded ',
  'x' * 1024,
  '\U0001f3ac' * 256,
)

# Awkward ids take every third rank from the second on, so the popular ranks
# (which every run sees) include some of them.
_AWKWARD_FIRST_RANK = 1
_AWKWARD_RANK_STEP = 3
_USERS = 10_000
_USER_ID_FRACTION = 0.9


class SyntheticView(NamedTuple):
  video_id: str
  event_id: str
  user_id: str | None
  # How far before its publish time the view happened; 0 for on-time views.
  late_by_ms: int


def video_catalog(videos: int) -> list[str]:
  """The video ids by popularity rank, awkward ones mixed in."""
  if videos < 1:
    raise ValueError(f'videos must be at least 1, got {videos}')
  catalog = [f'video-{rank:05d}' for rank in range(videos)]
  awkward_ranks = range(_AWKWARD_FIRST_RANK, videos, _AWKWARD_RANK_STEP)
  for rank, video_id in zip(awkward_ranks, AWKWARD_VIDEO_IDS, strict=False):
    catalog[rank] = video_id
  return catalog


class ZipfSampler:
  """Draws ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1) ** s."""

  def __init__(self, n: int, s: float, rng: random.Random):
    if n < 1:
      raise ValueError(f'n must be at least 1, got {n}')
    if s < 0:
      raise ValueError(f'the Zipf exponent must not be negative, got {s}')
    self._cumulative = list(
      itertools.accumulate(1.0 / (k + 1) ** s for k in range(n))
    )
    self._rng = rng

  def sample(self) -> int:
    point = self._rng.random() * self._cumulative[-1]
    # min() guards the float edge where point equals the total.
    return min(
      bisect.bisect_right(self._cumulative, point), len(self._cumulative) - 1
    )


def synthetic_views(
  videos: int,
  zipf_s: float = 1.2,
  late_fraction: float = 0.02,
  max_late_sec: float = 20.0,
  seed: int = 0,
  hot_share: float = 0.0,
) -> Iterator[SyntheticView]:
  """An endless, deterministic stream of views; a hot_share of them go to
  the most popular video on top of its Zipf share."""
  if not 0.0 <= late_fraction <= 1.0:
    raise ValueError(f'late_fraction must be in [0, 1], got {late_fraction}')
  if not 0.0 <= hot_share <= 1.0:
    raise ValueError(f'hot_share must be in [0, 1], got {hot_share}')
  if max_late_sec < 0:
    raise ValueError(f'max_late_sec must not be negative, got {max_late_sec}')
  rng = random.Random(seed)
  catalog = video_catalog(videos)
  ranks = ZipfSampler(videos, zipf_s, rng)
  max_late_ms = int(max_late_sec * 1000)
  while True:
    hot = hot_share and rng.random() < hot_share
    video_id = catalog[0 if hot else ranks.sample()]
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    user_id = None
    if rng.random() < _USER_ID_FRACTION:
      user_id = f'user-{rng.randrange(_USERS)}'
    late_by_ms = 0
    if rng.random() < late_fraction and max_late_ms > 0:
      late_by_ms = rng.randint(1, max_late_ms)
    yield SyntheticView(video_id, event_id, user_id, late_by_ms)


def view_event(view: SyntheticView, event_time_ms: int) -> dict:
  """The event as the pipeline reads it (see DESIGN.md, Events)."""
  event = {
    'videoId': view.video_id,
    'eventId': view.event_id,
    'eventTime': times.format_rfc3339(
      times.from_epoch_millis(event_time_ms), millis=True
    ),
  }
  if view.user_id is not None:
    event['userId'] = view.user_id
  return event
