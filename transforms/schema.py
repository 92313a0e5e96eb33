"""The Bigtable layout of the view counts, shared by the pipeline and tools.

One row per (video, window, granularity)::

    row key   <video>#<window start>#<granularity>
              video         the videoId, UTF-8, percent-encoded: every byte
                            outside A-Z a-z 0-9 - . _ ~ becomes %XX
              window start  RFC 3339 UTC, second precision, fixed width
              granularity   the window length, for example 60s
    family    views   (garbage collection: keep one version)
    column    views:count   the count, 64-bit big-endian signed integer

Percent-encoding makes the key injective and prefix-safe: the separator
``#`` never appears inside an encoded id, so the range of video ``a``
(prefix ``a#``) can never hold a row of video ``a#b`` (``a%23b#...``).

The count is also the cell's version: the cell timestamp is the count in
milliseconds (Bigtable keeps millisecond granularity). A repeated pane
rewrites the same cell, a smaller count from a replay lands as an older
version, and reads take the newest version only, so the stored value never
goes down and is never inflated.
"""

import datetime
import struct
import urllib.parse
from typing import NamedTuple

DEFAULT_TABLE_ID = 'view_counts'
COLUMN_FAMILY = 'views'
COUNT_COLUMN = b'count'

_SEPARATOR = '#'
_WINDOW_START_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
_INT64 = struct.Struct('>q')


class WindowCount(NamedTuple):
  """The count of one video in one window, as stored in one row."""

  video_id: str
  window_start: datetime.datetime
  window_size_sec: int
  views: int

  @property
  def window_end(self) -> datetime.datetime:
    return self.window_start + datetime.timedelta(seconds=self.window_size_sec)


def encode_video_id(video_id: str) -> str:
  return urllib.parse.quote(video_id, safe='')


def video_prefix(video_id: str) -> bytes:
  """The key prefix holding every row of exactly this video."""
  return (encode_video_id(video_id) + _SEPARATOR).encode('ascii')


def row_key(
  video_id: str, window_start: datetime.datetime, window_size_sec: int
) -> bytes:
  start = window_start.astimezone(datetime.timezone.utc)
  return (
    video_prefix(video_id)
    + f'{start.strftime(_WINDOW_START_FORMAT)}{_SEPARATOR}'
    f'{window_size_sec}s'.encode('ascii')
  )


def window_start_prefix(
  video_id: str, window_start: datetime.datetime
) -> bytes:
  """The key prefix of this video's rows for windows starting at window_start.

  Window starts are fixed width, so these prefixes sort in time order and
  bound a scan of a time range of one video.
  """
  start = window_start.astimezone(datetime.timezone.utc)
  return video_prefix(video_id) + (
    f'{start.strftime(_WINDOW_START_FORMAT)}{_SEPARATOR}'.encode('ascii')
  )


def parse_row_key(key: bytes) -> tuple[str, datetime.datetime, int]:
  """Inverse of row_key: (video_id, window_start, window_size_sec)."""
  encoded_video, start, granularity = key.decode('ascii').split(_SEPARATOR)
  window_start = datetime.datetime.strptime(
    start, _WINDOW_START_FORMAT
  ).replace(tzinfo=datetime.timezone.utc)
  if not granularity.endswith('s'):
    raise ValueError(f'not a view-count row key: {key!r}')
  return (
    urllib.parse.unquote(encoded_video),
    window_start,
    int(granularity[:-1]),
  )


def encode_count(views: int) -> bytes:
  return _INT64.pack(views)


def decode_count(value: bytes) -> int:
  return _INT64.unpack(value)[0]


def count_version_micros(views: int) -> int:
  """The cell timestamp for a count: the count itself, in milliseconds."""
  return views * 1000
