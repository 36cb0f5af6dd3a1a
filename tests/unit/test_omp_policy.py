"""Importing the library sets no environment variable; the entry points set OMP_WAIT_POLICY.

``fraudguard.models`` used to write ``os.environ`` on import, a hidden side effect for any
program embedding the library. The measured reason for the setting is in
docs/machine-notes.md; these tests run fresh interpreters so the test process's own
environment (conftest sets the policy) cannot mask the behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import os, fraudguard.models, fraudguard.models.scorer; {call}print(os.environ.get('OMP_WAIT_POLICY'))"


def run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_importing_models_leaves_the_environment_alone():
    assert run(PROBE.format(call="")) == "None"


def test_set_omp_passive_sets_the_policy_but_an_explicit_one_wins():
    call = "fraudguard.models.set_omp_passive(); "
    assert run(PROBE.format(call=call)) == "PASSIVE"
    assert run(PROBE.format(call=call), OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_cli_main_sets_the_policy_before_running_a_command():
    code = (
        "import os, sys, fraudguard.cli\n"
        "sys.argv = ['fraudguard', '--help']\n"
        "try:\n    fraudguard.cli.main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), file=sys.stderr)\n"
    )
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "PASSIVE"
