"""The JSON-lines file of `viewcounts publish --from-file`.

One message a line, blank lines skipped::

    {"data": {"videoId": "a", "eventTime": "2026-12-03T18:00:05.250Z"}}
    {"data": "not json at all", "attributes": {"source": "test"}}
    {"data_base64": "/w==", "attributes": {"note": "invalid UTF-8"}}

`data` that is a JSON string is sent as its UTF-8 bytes exactly, so malformed
input can be sent; any other JSON value is serialised compactly. `data_base64`
sends arbitrary bytes. `attributes` maps strings to strings.
"""

import base64
import binascii
import json
from collections.abc import Iterable
from typing import NamedTuple

# PublisherClient.publish() takes attributes as keyword arguments, so these
# names would be taken for its own parameters instead.
_RESERVED_ATTRIBUTES = frozenset(
  {'topic', 'data', 'ordering_key', 'retry', 'timeout'}
)


class InputError(ValueError):
  """A line of the file is not a message; says which line and why."""


class FileMessage(NamedTuple):
  data: bytes
  attributes: dict[str, str]
  line: int


def parse_line(text: str, line: int) -> FileMessage:
  try:
    record = json.loads(text)
  except json.JSONDecodeError as error:
    raise InputError(f'line {line}: not JSON: {error}') from error
  if not isinstance(record, dict):
    raise InputError(f'line {line}: expected a JSON object')
  unknown = set(record) - {'data', 'data_base64', 'attributes'}
  if unknown:
    raise InputError(f'line {line}: unknown fields {sorted(unknown)}')
  if ('data' in record) == ('data_base64' in record):
    raise InputError(f'line {line}: give exactly one of data, data_base64')
  if 'data_base64' in record:
    data = _decode_base64(record['data_base64'], line)
  elif isinstance(record['data'], str):
    data = _utf8(record['data'], line)
  else:
    data = _serialise(record['data'])
  attributes = _attributes(record.get('attributes', {}), line)
  if not data and not attributes:
    raise InputError(
      f'line {line}: Pub/Sub rejects a message with empty data and no '
      'attributes'
    )
  return FileMessage(data, attributes, line)


def parse_lines(lines: Iterable[str]) -> list[FileMessage]:
  """Every message of the file; InputError at the first bad line."""
  return [
    parse_line(text, number)
    for number, text in enumerate(lines, start=1)
    if text.strip()
  ]


def read_file(path: str) -> list[FileMessage]:
  with open(path, encoding='utf-8') as lines:
    return parse_lines(lines)


def _utf8(text: str, line: int) -> bytes:
  try:
    return text.encode('utf-8')
  except UnicodeEncodeError as error:
    raise InputError(
      f'line {line}: data has a lone surrogate, which UTF-8 cannot carry; '
      'send such bytes with data_base64'
    ) from error


def _serialise(value: object) -> bytes:
  try:
    return json.dumps(value, ensure_ascii=False, separators=(',', ':')).encode(
      'utf-8'
    )
  except UnicodeEncodeError:
    # A lone surrogate (from a \\udXXX escape) can travel only as an escape.
    return json.dumps(value, separators=(',', ':')).encode('ascii')


def _decode_base64(value: object, line: int) -> bytes:
  if not isinstance(value, str):
    raise InputError(f'line {line}: data_base64 must be a string')
  try:
    return base64.b64decode(value, validate=True)
  except binascii.Error as error:
    raise InputError(f'line {line}: data_base64: {error}') from error


def _attributes(value: object, line: int) -> dict[str, str]:
  if not isinstance(value, dict) or not all(
    isinstance(v, str) for v in value.values()
  ):
    raise InputError(f'line {line}: attributes must map strings to strings')
  reserved = _RESERVED_ATTRIBUTES.intersection(value)
  if reserved:
    raise InputError(
      f'line {line}: attribute names {sorted(reserved)} cannot be sent '
      'through the Python Pub/Sub client'
    )
  return value
