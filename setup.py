"""Packaging for the view counter.

This file is also what Dataflow workers install through
``--setup_file ./setup.py``, so it ships the ``pipeline`` and ``transforms``
packages along with the ``viewcounts`` tools.

Beam and the Google Cloud clients are pinned here and nowhere else: Beam's
Bigtable sink once broke silently with a mismatched google-cloud-bigtable
release, so the pair moves together, and the test run checks ``pip check``.
"""

import setuptools

BEAM_VERSION = '2.77.0'

setuptools.setup(
  name='viewcounts',
  version='0.1.0',
  description='Streaming per-video view counts: Pub/Sub to Bigtable with '
  'Apache Beam',
  python_requires='>=3.10',
  packages=setuptools.find_packages(
    include=[
      'pipeline',
      'pipeline.*',
      'transforms',
      'transforms.*',
      'viewcounts',
      'viewcounts.*',
    ]
  ),
  install_requires=[
    f'apache-beam[gcp]=={BEAM_VERSION}',
    'google-cloud-bigtable==2.50.2',
    'google-cloud-pubsub==2.44.0',
    'tqdm==4.70.1',
  ],
  extras_require={
    'test': [
      'pytest==9.2.0',
      'hypothesis==6.170.17',
      'ruff==0.17.6',
      # The benchmarks' chart; the tests run the benchmarks on tiny inputs.
      'matplotlib==3.11.2',
    ],
  },
  entry_points={
    'console_scripts': ['viewcounts=viewcounts.cli:main'],
  },
)
