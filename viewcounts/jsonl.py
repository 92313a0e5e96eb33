"""Window counts as JSON lines: the shape of `query --json` and `--truth`.

One object a line, keys in this order::

    {"videoId": "a#b", "windowStart": "2026-12-03T18:00:00Z",
     "windowEnd": "2026-12-03T18:01:00Z", "views": 42}

Both outputs go through this module, so a truth file and a query of a
correct table are byte for byte the same lines.
"""

import json
from collections.abc import Iterable
from typing import IO

from transforms import schema
from viewcounts import times


def to_json(count: schema.WindowCount) -> str:
  return json.dumps(
    {
      'videoId': count.video_id,
      'windowStart': times.format_rfc3339(count.window_start),
      'windowEnd': times.format_rfc3339(count.window_end),
      'views': count.views,
    },
    ensure_ascii=False,
  )


def from_json(line: str) -> schema.WindowCount:
  """ValueError (or KeyError, TypeError) unless line is a to_json line."""
  record = json.loads(line)
  start = times.parse_rfc3339(record['windowStart'])
  end = times.parse_rfc3339(record['windowEnd'])
  size = end - start
  if size.total_seconds() < 1 or size.microseconds:
    raise ValueError(f'not a window of whole seconds: {line!r}')
  if not isinstance(record['videoId'], str):
    raise ValueError(f'videoId is not a string: {line!r}')
  views = record['views']
  if not isinstance(views, int) or isinstance(views, bool):
    raise ValueError(f'views is not an integer: {line!r}')
  return schema.WindowCount(
    record['videoId'], start, int(size.total_seconds()), views
  )


def write(counts: Iterable[schema.WindowCount], out: IO[str]) -> None:
  for count in counts:
    out.write(to_json(count) + '\n')


def write_file(counts: Iterable[schema.WindowCount], path: str) -> None:
  with open(path, 'w', encoding='utf-8') as out:
    write(counts, out)


def read_file(path: str) -> list[schema.WindowCount]:
  """The counts of a file written by write_file; blank lines skipped."""
  counts = []
  with open(path, encoding='utf-8') as lines:
    for number, line in enumerate(lines, start=1):
      if not line.strip():
        continue
      try:
        counts.append(from_json(line))
      except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f'{path}:{number}: {error}') from error
  return counts
