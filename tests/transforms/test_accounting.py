import logging

from transforms.accounting import ThrottledLog


def test_one_line_a_minute_across_instances(caplog):
  # Two DoFn instances in one process report the same kind of message; 5
  # messages within a minute give one line, counting the first only.
  logger = logging.getLogger('test_throttled')
  first = ThrottledLog(logger, 'test messages (one process)')
  second = ThrottledLog(logger, 'test messages (one process)')
  with caplog.at_level(logging.WARNING, logger='test_throttled'):
    for log in (first, second, first, second, first):
      log.record('example')
  assert [r.getMessage() for r in caplog.records] == [
    '1 test messages (one process) since the last report; latest: example'
  ]
