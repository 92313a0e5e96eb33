"""WriteDeadLetters: malformed and too-late messages, back to Pub/Sub."""

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, WriteToPubSub

REASON_ATTRIBUTE = 'deadLetterReason'
DETAIL_ATTRIBUTE = 'deadLetterDetail'
# Pub/Sub refuses attribute values over 1,024 bytes.
_MAX_ATTRIBUTE_BYTES = 1024


def to_pubsub_message(dead_letter) -> PubsubMessage:
  """The original bytes and attributes, plus why the view was not counted."""
  detail = dead_letter.detail.encode('utf-8')[:_MAX_ATTRIBUTE_BYTES]
  attributes = dict(dead_letter.attributes)
  attributes[REASON_ATTRIBUTE] = dead_letter.reason
  attributes[DETAIL_ATTRIBUTE] = detail.decode('utf-8', errors='ignore')
  return PubsubMessage(dead_letter.data, attributes)


class WriteDeadLetters(beam.PTransform):
  def __init__(self, topic: str):
    super().__init__()
    self._topic = topic

  def expand(self, dead_letters):
    return (
      dead_letters
      | 'ToPubsubMessages' >> beam.Map(to_pubsub_message)
      | 'Publish' >> WriteToPubSub(self._topic, with_attributes=True)
    )
