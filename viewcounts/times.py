"""RFC 3339 times as the event format and the JSON outputs write them."""

import datetime
import re

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# RFC 3339 proper, not all of ISO 8601: a zone is required, because a time
# without one is ambiguous and the design treats it as malformed.
_RFC3339 = re.compile(
  r'(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})'
  r'(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d{2}:\d{2})',
  re.ASCII,
)


def parse_rfc3339(text: str) -> datetime.datetime:
  """An aware datetime in UTC; ValueError unless text is RFC 3339 with a zone.

  Digits beyond microseconds are truncated.
  """
  match = _RFC3339.fullmatch(text)
  if not match:
    raise ValueError(f'not an RFC 3339 time with a zone: {text!r}')
  fraction = (match['fraction'] or '')[:6].ljust(6, '0')
  zone = match['zone'].upper().replace('Z', '+00:00')
  try:
    parsed = datetime.datetime.fromisoformat(
      f'{match["date"]}T{match["time"]}.{fraction}{zone}'
    )
    return parsed.astimezone(datetime.timezone.utc)
  except OverflowError as error:  # an offset that leaves years 1..9999
    raise ValueError(f'out of range: {text!r}') from error


def format_rfc3339(moment: datetime.datetime, millis: bool = False) -> str:
  """UTC with a `Z`, to the second or, with millis, the millisecond."""
  utc = moment.astimezone(datetime.timezone.utc)
  text = utc.strftime('%Y-%m-%dT%H:%M:%S')
  if millis:
    text += f'.{utc.microsecond // 1000:03d}'
  return text + 'Z'


def from_epoch_millis(millis: int) -> datetime.datetime:
  return EPOCH + datetime.timedelta(milliseconds=millis)


def to_epoch_micros(moment: datetime.datetime) -> int:
  return (moment - EPOCH) // datetime.timedelta(microseconds=1)


def window_start(
  moment: datetime.datetime, window_size_sec: int
) -> datetime.datetime:
  """The start of the fixed window holding moment; windows align to epoch.

  This is Beam's FixedWindows with offset 0: [start, start + size).
  """
  size_micros = window_size_sec * 1_000_000
  micros = to_epoch_micros(moment)
  return EPOCH + datetime.timedelta(microseconds=micros - micros % size_micros)
