import sys
from prefect import flow
from trainer.orchestration import discover_orchestrator, ENTRY_POINT_GROUP
from importlib.metadata import entry_points

def test_dbg(prefect_harness):
    @flow
    def f():
        eps = list(entry_points(group=ENTRY_POINT_GROUP))
        print("EPS", eps, "prefect" in sys.modules)
        for ep in eps:
            print("LOAD", ep.load())
        return discover_orchestrator(None)
    print("RESULT", f())
