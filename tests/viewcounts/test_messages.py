"""Parsing the JSON lines of `publish --from-file`."""

import pytest

from viewcounts import messages


def test_object_data_is_serialised_compactly():
  message = messages.parse_line(
    '{"data": {"videoId": "a#b", "eventTime": 1}, "attributes": {"k": "v"}}',
    1,
  )

  assert message == messages.FileMessage(
    b'{"videoId":"a#b","eventTime":1}', {'k': 'v'}, 1
  )


def test_non_ascii_object_data_stays_utf8():
  message = messages.parse_line('{"data": {"videoId": "\U0001f3ac"}}', 1)

  assert message.data == '{"videoId":"\U0001f3ac"}'.encode()


def test_string_data_is_sent_as_is():
  # Malformed on purpose: the pipeline must dead-letter it, byte for byte.
  message = messages.parse_line('{"data": "{\\"videoId\\": \\"a\\""}', 3)

  assert message == messages.FileMessage(b'{"videoId": "a"', {}, 3)


def test_base64_data_sends_raw_bytes():
  message = messages.parse_line('{"data_base64": "/wA=", "attributes": {}}', 1)

  assert message.data == b'\xff\x00'


def test_other_json_values_are_serialised():
  assert messages.parse_line('{"data": [1, 2]}', 1).data == b'[1,2]'
  assert messages.parse_line('{"data": null, "attributes": {"a": ""}}', 1) == (
    messages.FileMessage(b'null', {'a': ''}, 1)
  )


def test_lone_surrogate_in_an_object_travels_as_an_escape():
  message = messages.parse_line('{"data": {"videoId": "\\ud800"}}', 1)

  assert message.data == b'{"videoId":"\\ud800"}'


def test_blank_lines_are_skipped_and_numbers_kept():
  parsed = messages.parse_lines(['{"data": "x"}\n', '\n', '{"data": "y"}\n'])

  assert [(m.data, m.line) for m in parsed] == [(b'x', 1), (b'y', 3)]


def test_read_file(tmp_path):
  path = tmp_path / 'messages.jsonl'
  path.write_text('{"data": "caf\u00e9"}\n', encoding='utf-8')

  assert messages.read_file(str(path)) == [
    messages.FileMessage('caf\u00e9'.encode(), {}, 1)
  ]


@pytest.mark.parametrize(
  'line, complaint',
  [
    ('not json', 'not JSON'),
    ('[1]', 'expected a JSON object'),
    ('{}', 'exactly one of data, data_base64'),
    ('{"data": "a", "data_base64": "YQ=="}', 'exactly one of'),
    ('{"data": "a", "extra": 1}', 'unknown fields'),
    ('{"data_base64": "***"}', 'data_base64'),
    ('{"data_base64": 5}', 'data_base64 must be a string'),
    ('{"data": "a", "attributes": {"k": 1}}', 'map strings to strings'),
    ('{"data": "a", "attributes": ["k"]}', 'map strings to strings'),
    ('{"data": "a", "attributes": {"timeout": "1"}}', 'cannot be sent'),
    ('{"data": ""}', 'empty data and no attributes'),
    ('{"data": "\\udc80"}', 'lone surrogate'),
  ],
)
def test_bad_lines_name_the_line_and_the_problem(line, complaint):
  with pytest.raises(messages.InputError, match=complaint) as raised:
    messages.parse_lines(['{"data": "ok"}', line])

  assert str(raised.value).startswith('line 2: ')
