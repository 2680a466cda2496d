"""The two Prefect automations that make crashed training runs heal by themselves.

1. **Missing heartbeats -> Crashed.** A flow run emits ``prefect.flow-run.heartbeat`` every
   ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds. If its machine disappears (or a plain process is
   SIGKILLed) nobody marks it, so it would stay *Running* forever; this automation marks it
   *Crashed* after three missed heartbeats.
2. **Crashed -> AwaitingRestart.** A crashed run of a deployment of ``train-experiment`` is moved
   back to *Scheduled* (named ``AwaitingRestart``), keeping its id and parameters; the worker or
   ``serve`` process picks it up again, its ``run_count`` grows by one and the flow resumes from
   its last snapshot. The flow's ``max_restarts`` ends a crash loop by *failing* (a failed run is
   not restarted).

A process worker or ``serve`` marks a SIGKILLed flow-run process *Crashed* by itself within
seconds; the heartbeat automation covers the cases where nobody is left to do so.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture

FLOW_NAME = "train-experiment"
ZOMBIE_AUTOMATION = "trainflow: crash training runs with missing heartbeats"
RESTART_AUTOMATION = "trainflow: restart crashed training runs"
#: Heartbeat period the deployments set (PREFECT_FLOWS_HEARTBEAT_FREQUENCY; Prefect's minimum).
HEARTBEAT_FREQUENCY_S = 30


def _ours(flow_name: str) -> dict[str, str]:
    return {"prefect.resource.role": "flow", "prefect.resource.name": flow_name}


def zombie_automation(heartbeat_frequency_s: int = HEARTBEAT_FREQUENCY_S,
                      flow_name: str = FLOW_NAME) -> Automation:
    """Mark a run of ``flow_name`` *Crashed* when three heartbeats in a row are missing.

    Args:
        heartbeat_frequency_s: The runs' ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` in seconds.
            Default 30.
        flow_name: The flow whose runs are watched. Default ``"train-experiment"``.

    Returns:
        The automation (not yet created on the server).
    """
    return Automation(
        name=ZOMBIE_AUTOMATION,
        description=(f"Runs of {flow_name} that send no heartbeat for "
                     f"{3 * heartbeat_frequency_s} s are marked Crashed."),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.*"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=_ours(flow_name),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=3 * heartbeat_frequency_s),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED,
            message=(f"No heartbeat for {3 * heartbeat_frequency_s} s: the flow-run process or "
                     "its machine is gone."))],
    )


def restart_automation(flow_name: str = FLOW_NAME) -> Automation:
    """Reschedule a *Crashed* run of a deployment of ``flow_name`` (same run, ``run_count`` + 1).

    Only runs with a deployment can be rescheduled (Prefect refuses others), so only those match.

    Args:
        flow_name: The flow whose runs are restarted. Default ``"train-experiment"``.

    Returns:
        The automation (not yet created on the server).
    """
    return Automation(
        name=RESTART_AUTOMATION,
        description=(f"Crashed deployment runs of {flow_name} are rescheduled; the flow resumes "
                     "from its last snapshot and fails after max_restarts restarts."),
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=[_ours(flow_name), {"prefect.resource.role": "deployment"}],
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.SCHEDULED, name="AwaitingRestart",
            message="Restarted after a crash; resuming from the last snapshot.")],
    )


def install_automations(heartbeat_frequency_s: int = HEARTBEAT_FREQUENCY_S,
                        flow_name: str = FLOW_NAME) -> list[Automation]:
    """Create (or replace) both automations on the current Prefect API.

    Idempotent: automations with the same names are deleted first, so running it again after
    changing ``heartbeat_frequency_s`` updates them.

    Args:
        heartbeat_frequency_s: See :func:`zombie_automation`. Default 30.
        flow_name: See :func:`zombie_automation`. Default ``"train-experiment"``.

    Returns:
        The created automations, with their server ids.
    """
    remove_automations()
    return [zombie_automation(heartbeat_frequency_s, flow_name).create(),
            restart_automation(flow_name).create()]


def remove_automations() -> int:
    """Delete the automations :func:`install_automations` creates; returns how many existed."""
    from prefect.client.orchestration import get_client

    removed = 0
    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            if automation.name in (ZOMBIE_AUTOMATION, RESTART_AUTOMATION):
                client.delete_automation(automation.id)
                removed += 1
    return removed
