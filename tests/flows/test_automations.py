from datetime import timedelta

import pytest
from prefect.client.orchestration import get_client

from flows.automations import (
    RESTART_AUTOMATION,
    ZOMBIE_AUTOMATION,
    install_automations,
    remove_automations,
    restart_automation,
    zombie_automation,
)


def test_zombie_automation_crashes_runs_of_our_flow_after_three_missed_heartbeats():
    automation = zombie_automation(heartbeat_frequency_s=40)
    trigger = automation.trigger
    assert trigger.posture == "Proactive" and trigger.within == timedelta(seconds=120)
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.match_related.model_dump() == {"prefect.resource.role": "flow",
                                                  "prefect.resource.name": "train-experiment"}
    assert [a.state.value for a in automation.actions] == ["CRASHED"]


def test_restart_automation_reschedules_only_crashed_deployment_runs():
    automation = restart_automation()
    assert automation.trigger.expect == {"prefect.flow-run.Crashed"}
    roles = [spec.model_dump().get("prefect.resource.role")
             for spec in automation.trigger.match_related]
    assert roles == ["flow", "deployment"]
    (action,) = automation.actions
    assert action.state.value == "SCHEDULED" and action.name == "AwaitingRestart"


@pytest.mark.prefect
def test_install_is_idempotent_and_remove_deletes_both(prefect_harness):
    def ours():
        with get_client(sync_client=True) as client:
            return sorted(a.name for a in client.read_automations()
                          if a.name in (ZOMBIE_AUTOMATION, RESTART_AUTOMATION))

    install_automations(heartbeat_frequency_s=30)
    created = install_automations(heartbeat_frequency_s=60)
    assert ours() == sorted([ZOMBIE_AUTOMATION, RESTART_AUTOMATION])
    with get_client(sync_client=True) as client:
        zombie = client.read_automation(created[0].id)
    assert zombie.trigger.within == timedelta(seconds=180)
    assert remove_automations() == 2 and ours() == []
