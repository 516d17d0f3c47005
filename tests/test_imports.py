"""The engine is pure: it imports without Flask, gunicorn or the kubernetes client."""

from __future__ import annotations

import subprocess
import sys


def test_engine_imports_without_web_or_cluster_libraries() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('flask', 'werkzeug', 'gunicorn', 'kubernetes'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import webhook.policy, webhook.inputs\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
