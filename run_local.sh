#!/usr/bin/env bash
# ./run_local.sh [flags]   the whole job on the local emulators, verified exact
#                          (flags: ./run_local.sh --help)
# ./run_local.sh test      the whole test suite, with lint and pip check
#                          (extra arguments go to pytest)
#
# On a fresh checkout it creates .venv and installs the project into it; it
# reinstalls whenever setup.py changes.
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv
if [[ ! -x "$venv/bin/python" ]]; then
  echo "Creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.installed-$(sha1sum setup.py | cut -c1-12)"
if [[ ! -f "$stamp" ]]; then
  echo "Installing the project and its test tools into $venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e '.[test]'
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

if [[ "${1:-}" == "test" ]]; then
  shift
  "$venv/bin/python" -m pip check
  "$venv/bin/ruff" check .
  "$venv/bin/ruff" format --check .
  exec "$venv/bin/python" -m pytest "$@"
fi
exec "$venv/bin/python" -m viewcounts.local_run "$@"
