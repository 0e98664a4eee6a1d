"""The work on a real dask.distributed cluster (a LocalCluster of processes on loopback):
the verdicts are those of a local run, for one folder and for a batch of characters."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from animus_prep import Policy, preflight
from animus_prep.cli import cluster as cli_cluster
from animus_prep.cli import main
from animus_prep.cli.common import UsageError
from animus_prep.inspection.batch import check_batch
from photos import gaussian, photo, scene, write

distributed = pytest.importorskip("distributed")

NO_FACES = Policy(faces=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studio")
    arr = photo("astronaut", 560)
    anna = root / "anna"
    write(anna / "face" / "cat.jpg", arr, quality=95)
    write(anna / "face" / "cat_small.jpg", arr[::2, ::2].copy(), quality=85)
    (anna / "face" / "cat_copy.jpg").write_bytes((anna / "face" / "cat.jpg").read_bytes())
    write(anna / "face" / "blurry.jpg", gaussian(photo("coffee", 700), 6))
    (anna / "face" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    write(anna / "body" / "front" / "s1.jpg", scene(1))
    write(root / "bea" / "face" / "s2.jpg", scene(2))
    write(root / "bea" / "face" / "cat.jpg", arr)
    return root


def test_one_folder_on_the_cluster_is_judged_as_locally(
    cluster: distributed.LocalCluster, studio: Path
) -> None:
    local = preflight(studio / "anna", policy=NO_FACES).to_json()
    with distributed.Client(cluster) as client:
        remote = preflight(studio / "anna", policy=NO_FACES, executor=client.get_executor())
    assert remote.to_json() == local
    assert local["summary"]["rejected_by_reason"] == {
        "blurry": 1,
        "duplicate": 2,
        "too_small": 1,
        "unreadable": 1,
        "upscaled": 1,  # the blurred photo holds no more detail than an enlarged one
    }


def test_a_batch_on_the_cluster_is_judged_as_locally(
    cluster: distributed.LocalCluster, studio: Path
) -> None:
    local = [(r.name, r.report) for r in check_batch(studio, NO_FACES, force=True)]
    with distributed.Client(cluster) as client:
        results = check_batch(studio, NO_FACES, client.get_executor(), force=True, spread=True)
        remote = [(r.name, r.report) for r in results]
    assert remote == local
    assert [name for name, _ in local] == ["anna", "bea"]


def test_the_command_line_runs_on_a_scheduler(
    cluster: distributed.LocalCluster, studio: Path
) -> None:
    def run(*extra: str) -> list[dict[str, object]]:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "animus_prep.cli", "check", str(studio), "--batch"),
                *("--no-faces", "--force", "--format", "jsonl", *extra),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    assert run("--scheduler", cluster.scheduler_address) == run("--workers", "1")


def test_workers_that_cannot_see_the_photos_are_refused(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "only-here"
    with (
        pytest.raises(UsageError, match=r"cannot see .*only-here"),
        cli_cluster.cluster_executor(cluster.scheduler_address, [elsewhere]),
    ):
        pass


def test_an_unreachable_scheduler_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_cluster, "CONNECT_TIMEOUT", 2.0)
    write(tmp_path / "a.jpg", scene(1))
    status = main(["check", str(tmp_path), "--kind", "face", "--scheduler", "tcp://127.0.0.1:9"])
    assert status == 2
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_an_address_dask_cannot_use_is_a_usage_error_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.jpg", scene(1))
    status = main(["check", str(tmp_path), "--kind", "face", "--scheduler", "garbage"])
    assert status == 2
    assert "--scheduler garbage: missing port number" in capsys.readouterr().err


def test_a_peer_that_is_no_scheduler_is_a_clear_error_without_a_traceback(
    tmp_path: Path,
) -> None:
    from animus_prep.sandbox import serve_in_thread

    write(tmp_path / "a.jpg", scene(1))
    with serve_in_thread() as url:  # an HTTP server, not a dask scheduler
        address = "tcp://" + url.removeprefix("http://").split("/")[0]
        command = ["check", str(tmp_path), "--kind", "face", "--scheduler", address]
        proc = subprocess.run(
            [sys.executable, "-m", "animus_prep.cli", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 2
    assert f"cannot reach the dask scheduler at {address}" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_a_peer_that_accepts_and_never_answers_is_given_up_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hung scheduler or a proxy: dask's own start-up waited past its timeout, for ever.
    monkeypatch.setattr(cli_cluster, "CONNECT_TIMEOUT", 1.0)
    write(tmp_path / "a.jpg", scene(1))
    held: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        port = server.getsockname()[1]
        accepting = threading.Thread(target=lambda: held.append(server.accept()[0]))
        accepting.start()
        started = time.monotonic()
        address = f"tcp://127.0.0.1:{port}"
        status = main(["check", str(tmp_path), "--kind", "face", "--scheduler", address])
        took = time.monotonic() - started
        accepting.join(5)
    for conn in held:
        conn.close()
    assert status == 2
    assert "did not answer within 6 s" in capsys.readouterr().err
    assert took < 30
