"""The DirectRunner's Pub/Sub read, fixed to pull up to 1,000 messages."""

from apache_beam.runners.direct import transform_evaluator

from pipeline.direct_runner_pubsub_read import (
  PULL_MAX_MESSAGES,
  pull_larger_batches,
)


class RecordingClient:
  def __init__(self):
    self.pulls = []

  def pull(self, **kwargs):
    self.pulls.append(kwargs)
    return 'response'

  def acknowledge(self, **kwargs):
    return 'acknowledged'


def test_the_read_pulls_up_to_1000_messages_and_acks_as_before(monkeypatch):
  evaluator = transform_evaluator._PubSubReadEvaluator
  client = RecordingClient()
  pull_larger_batches()
  pull_larger_batches()  # a second call changes nothing
  monkeypatch.setattr(
    evaluator,
    '_get_subscriber_client_state_unlocked',
    classmethod(lambda cls, transform: type('State', (), {'client': client})),
  )
  reader_client = evaluator._get_subscriber_client(object())
  # As Beam's reader calls it.
  response = reader_client.pull(subscription='s', max_messages=10, timeout=30)
  assert response == 'response'
  assert client.pulls == [
    {'subscription': 's', 'max_messages': PULL_MAX_MESSAGES, 'timeout': 30}
  ]
  assert reader_client.acknowledge(subscription='s', ack_ids=[]) == (
    'acknowledged'
  )
