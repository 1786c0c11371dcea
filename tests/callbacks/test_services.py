"""What callbacks are given: a thread-following background manager, and a job runner that never forks the server
(clean spawned processes by default, Celery when a broker is set)."""

from __future__ import annotations

from scatterloop.callbacks.services import ThreadManager, make_background_manager, make_runner, make_services
from scatterloop.core.worker_celery import CeleryRunner
from scatterloop.core.worker_pool import EmbeddedRunner


def test_embedded_runner_by_default(settings):
    services = make_services(settings)
    assert isinstance(services.background_manager, ThreadManager)
    assert isinstance(services.runner, EmbeddedRunner)
    assert (services.workspace.cache / "dash-background").is_dir()


def test_celery_when_broker_url_is_set(settings, workspace):
    with_broker = settings.with_(broker_url="redis://127.0.0.1:6379/0")
    runner = make_runner(with_broker, workspace)
    assert isinstance(runner, CeleryRunner)
    assert runner.app.conf.broker_url == "redis://127.0.0.1:6379/0"
    assert isinstance(make_background_manager(with_broker, workspace), ThreadManager)  # pages follow the store


def test_thread_manager_runs_a_body_in_a_thread_of_this_process(settings, workspace):
    import os
    import threading

    manager = make_background_manager(settings, workspace)
    seen = {}
    done = threading.Event()

    def body(key, progress_key, args, context):
        seen["pid"] = os.getpid()
        seen["thread"] = threading.current_thread().name
        done.set()

    job = manager.call_job_fn("k", body, [], {})
    assert done.wait(30)
    assert seen["pid"] == os.getpid() and seen["thread"] == f"job-{job}"
    manager.terminate_job(job)
