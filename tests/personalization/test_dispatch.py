"""Tasks are sent by name (personalization/dispatch.py); run eagerly, they must be found even in
a process that never imported personalization/tasks.py (a web process with eager execution, a
benchmark): the eager path once failed there with NotRegistered."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.cardedge.pcsc_harness import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    assert "personalization.tasks" not in sys.modules, "imported already: the check proves nothing"
    from personalization.dispatch import PERSONALIZE_CARD, STATION_HEARTBEAT, eager_task
    print(eager_task(PERSONALIZE_CARD).name, eager_task(STATION_HEARTBEAT).name)
    """
)


def test_a_task_sent_by_name_is_found_where_tasks_were_never_imported():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        "personalization.tasks.personalize_card",
        "personalization.tasks.station_heartbeat_task",
    ]
