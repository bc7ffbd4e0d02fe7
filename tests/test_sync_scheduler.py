"""The app's sync scheduling rules (app/sync_scheduler.py), alone: no App, thread or timer."""

from __future__ import annotations

from functions_tui.app.sync_scheduler import SyncScheduler
from functions_tui.app.tui_bridge import SyncJob

AWS = SyncJob("aws", ("aws",), interval=60.0)
DOCKER = SyncJob("docker", ("docker",), interval=0.0, after=("aws",))
GCP = SyncJob("gcp", ("gcp",), interval=30.0)


def test_a_job_never_overlaps_itself_and_runs_once_more_after():
    s = SyncScheduler([AWS])
    assert s.request(AWS) is True and s.running == {"aws"}
    assert s.request(AWS) is False and s.request(AWS) is False   # asked twice meanwhile: one rerun
    then = s.ended(AWS)
    assert [j.name for j in then.start] == ["aws"] and then.next_run_in is None
    assert s.request(AWS) is True   # the rerun starts
    then = s.ended(AWS)
    assert then.start == [] and then.next_run_in == 60.0   # no more reruns: the interval timer


def test_a_job_after_another_waits_for_it_and_is_skipped_when_it_fails():
    s = SyncScheduler([AWS, DOCKER])
    assert s.request(AWS)
    assert s.request(DOCKER) is False   # waits for aws
    assert [j.name for j in s.ended(AWS).start] == ["docker"]

    assert s.request(AWS) and not s.request(DOCKER)
    then = s.ended(AWS, ok=False)
    assert then.start == [] and then.skipped == [("docker", "it runs after aws, which failed")]
    assert s.failed == {"aws"}
    assert s.request(AWS) and s.ended(AWS).start == [] and s.failed == set()


def test_intervals_only_with_autosync_and_background_runs_are_told_apart():
    assert SyncScheduler([GCP], autosync=False).ended(GCP).next_run_in is None
    s = SyncScheduler([GCP])
    s.mark_background(["gcp"])
    assert s.request(GCP) and s.requested_by_person(GCP) is False   # the app's own start
    assert s.ended(GCP).next_run_in == 30.0
    assert s.request(GCP) and s.requested_by_person(GCP) is True    # a person's: detect again


def test_a_closing_app_abandons_a_run_without_starting_anything():
    s = SyncScheduler([AWS, DOCKER])
    assert s.request(AWS) and not s.request(AWS) and not s.request(DOCKER)
    s.abandon(AWS)
    assert s.running == set()
