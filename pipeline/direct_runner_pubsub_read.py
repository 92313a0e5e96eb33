"""Lets the DirectRunner's Pub/Sub read pull up to 1,000 messages a bundle.

Beam 2.77's DirectRunner reads Pub/Sub with one pull of at most 10 messages
per bundle, so every step of the pipeline runs a bundle, with its fixed
cost, for every 10 views, which caps a local run at some tens of views a
second. This hands the read a client whose pulls ask for
``PULL_MAX_MESSAGES`` instead; nothing else about the read changes. It
still acknowledges on pull (see the README's Limits), so a process that
dies loses at most one pull more than before, and ``--replay_on_start``
recovers it as it recovers the rest.

Like the other DirectRunner fixes, it is applied only to local runs and is
a no-op once applied. Dataflow reads Pub/Sub with its own native source.
"""

from apache_beam.runners.direct import transform_evaluator

# The most one Pub/Sub pull returns.
PULL_MAX_MESSAGES = 1000
_PATCHED = '_viewcounts_larger_pulls'


class _LargerPulls:
  """A SubscriberClient whose pulls ask for PULL_MAX_MESSAGES."""

  def __init__(self, client):
    self._client = client

  def pull(self, *, subscription, max_messages, **kwargs):
    del max_messages  # the reader's 10
    return self._client.pull(
      subscription=subscription, max_messages=PULL_MAX_MESSAGES, **kwargs
    )

  def __getattr__(self, name):
    return getattr(self._client, name)


def pull_larger_batches() -> None:
  evaluator = transform_evaluator._PubSubReadEvaluator
  if getattr(evaluator, _PATCHED, False):
    return
  get_client = evaluator._get_subscriber_client.__func__

  def get_client_pulling_more(cls, transform):
    return _LargerPulls(get_client(cls, transform))

  evaluator._get_subscriber_client = classmethod(get_client_pulling_more)
  setattr(evaluator, _PATCHED, True)
