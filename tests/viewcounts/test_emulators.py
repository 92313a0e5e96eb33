"""The emulator harness, on fake emulators: no Cloud SDK needed.

A fake emulator is a small Python script at the path where the SDK keeps
the real one; it listens where it is told, like the real ones.
"""

import os
import socket
import stat
import sys
import tempfile
import textwrap

import pytest

from viewcounts import emulators

_LISTENER = textwrap.dedent("""\
  import socket, sys, time
  args = sys.argv[1:]
  if args[0].startswith('--'):  # cloud-pubsub-emulator --host=H --port=P
    options = dict(arg[2:].split('=', 1) for arg in args)
  else:  # cbtemulator -host H -port P
    options = dict(zip([a[1:] for a in args[::2]], args[1::2]))
  server = socket.socket()
  server.bind((options['host'], int(options['port'])))
  server.listen()
  print('fake emulator listening', flush=True)
  time.sleep(600)
""")
_CRASHER = 'import sys\nprint("boom: cannot start")\nsys.exit(3)\n'
_SILENT = 'import time\nprint("thinking")\ntime.sleep(600)\n'


def _fake_sdk(root, pubsub_script=_LISTENER, bigtable_script=_LISTENER):
  for relative, script in (
    ('platform/pubsub-emulator/bin/cloud-pubsub-emulator', pubsub_script),
    ('platform/bigtable-emulator/cbtemulator', bigtable_script),
  ):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!{sys.executable}\n{script}')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
  return str(root)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
  # The session's real emulators may be named in the environment.
  monkeypatch.delenv(emulators.PUBSUB_ENV, raising=False)
  monkeypatch.delenv(emulators.BIGTABLE_ENV, raising=False)
  # Logs kept after a failure land in the test's directory, not /tmp.
  monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
  java_home = tmp_path / 'jdk'
  (java_home / 'bin').mkdir(parents=True)
  (java_home / 'bin' / 'java').write_text('#!/bin/sh\n')
  (java_home / 'bin' / 'java').chmod(0o755)
  monkeypatch.setenv('JAVA_HOME', str(java_home))


def _accepts(address: str) -> bool:
  host, port = address.rsplit(':', 1)
  try:
    with socket.create_connection((host, int(port)), timeout=1):
      return True
  except OSError:
    return False


def test_starts_both_on_loopback_and_stops_them(tmp_path):
  sdk = _fake_sdk(tmp_path / 'sdk')

  with emulators.running_emulators(sdk_root=sdk) as env:
    assert set(env) == {emulators.PUBSUB_ENV, emulators.BIGTABLE_ENV}
    assert all(address.startswith('127.0.0.1:') for address in env.values())
    assert all(_accepts(address) for address in env.values())
    assert os.environ.get(emulators.PUBSUB_ENV) is None

  assert not any(_accepts(address) for address in env.values())
  # A clean exit removes the temporary log directory.
  assert not list(tmp_path.glob('viewcounts-emulators-*'))


def test_stops_them_when_the_body_raises(tmp_path):
  sdk = _fake_sdk(tmp_path / 'sdk')

  with pytest.raises(KeyError):
    with emulators.running_emulators(sdk_root=sdk) as env:
      raise KeyError('test failure')

  assert not any(_accepts(address) for address in env.values())
  # After a failure the logs are kept for a post-mortem.
  [logs] = tmp_path.glob('viewcounts-emulators-*')
  assert 'fake emulator listening' in (logs / 'pubsub-1.log').read_text()


def test_logs_go_to_the_given_directory(tmp_path):
  sdk = _fake_sdk(tmp_path / 'sdk')
  logs = tmp_path / 'logs'

  with emulators.running_emulators(sdk_root=sdk, log_dir=str(logs)):
    pass

  assert 'fake emulator listening' in (logs / 'pubsub-1.log').read_text()
  assert 'fake emulator listening' in (logs / 'bigtable-1.log').read_text()


def test_uses_an_emulator_the_environment_names(tmp_path, monkeypatch):
  # Only the Bigtable emulator is in the SDK: Pub/Sub must not be started.
  sdk = _fake_sdk(tmp_path / 'sdk')
  os.remove(tmp_path / 'sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator')
  with socket.socket() as given:
    given.bind(('127.0.0.1', 0))
    given.listen()
    address = f'127.0.0.1:{given.getsockname()[1]}'
    monkeypatch.setenv(emulators.PUBSUB_ENV, address)

    with emulators.running_emulators(sdk_root=sdk) as env:
      assert env[emulators.PUBSUB_ENV] == address

    # Not ours, so still there.
    assert _accepts(address)


def test_unreachable_emulator_in_the_environment_is_an_error(monkeypatch):
  monkeypatch.setenv(emulators.PUBSUB_ENV, '127.0.0.1:1')
  monkeypatch.setenv(emulators.BIGTABLE_ENV, '127.0.0.1:1')

  with pytest.raises(emulators.EmulatorStartError, match='PUBSUB_EMULATOR'):
    with emulators.running_emulators(start_timeout_sec=0.2):
      pass


def test_missing_sdk_is_a_loud_dedicated_error(tmp_path):
  with pytest.raises(emulators.EmulatorsUnavailable) as raised:
    with emulators.running_emulators(sdk_root=str(tmp_path / 'no-sdk')):
      pass

  message = str(raised.value)
  assert 'cloud-pubsub-emulator' in message
  assert 'apt-get install google-cloud-cli-pubsub-emulator' in message


def test_missing_java_is_a_loud_dedicated_error(tmp_path, monkeypatch):
  sdk = _fake_sdk(tmp_path / 'sdk')
  monkeypatch.setenv('JAVA_HOME', str(tmp_path / 'no-jdk'))

  with pytest.raises(emulators.EmulatorsUnavailable, match='needs Java'):
    with emulators.running_emulators(sdk_root=sdk):
      pass


def test_emulator_that_exits_reports_its_log(tmp_path):
  sdk = _fake_sdk(tmp_path / 'sdk', bigtable_script=_CRASHER)

  with pytest.raises(emulators.EmulatorStartError) as raised:
    with emulators.running_emulators(sdk_root=sdk) as env:
      pytest.fail(f'started: {env}')

  assert 'exit code 3' in str(raised.value)
  assert 'boom: cannot start' in str(raised.value)


def test_emulator_that_never_listens_times_out(tmp_path):
  sdk = _fake_sdk(tmp_path / 'sdk', pubsub_script=_SILENT)

  with pytest.raises(emulators.EmulatorStartError) as raised:
    with emulators.running_emulators(sdk_root=sdk, start_timeout_sec=1):
      pass

  assert 'within 1s' in str(raised.value)
  assert 'thinking' in str(raised.value)
