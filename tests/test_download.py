"""Tests for scripts/dataset/download.py: sources in order, verification of the decompressed content, no leftovers."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import IDX_NAMES, idx_bytes, run_script, synthetic_images, write_gz
from dataset import download as download
from kit.cli import PipelineError

NAME = "train-labels-idx1-ubyte"
IMAGES = "train-images-idx3-ubyte"


@dataclass
class Server:
    """A local HTTP server serving one folder; ``requests`` lists every path asked for."""

    url: str
    root: Path
    requests: list[str] = field(default_factory=list)


class RecordingServer(ThreadingHTTPServer):
    """Remembers the paths asked for; ``stall`` releases requests that hang on purpose."""

    def __init__(self, address: tuple[str, int], handler: functools.partial) -> None:
        super().__init__(address, handler)
        self.requests: list[str] = []
        self.stall = threading.Event()


class Handler(SimpleHTTPRequestHandler):
    """Serves files, plus two misbehaving routes: ``/short/*`` (body cut short), ``/stall/*`` (no answer)."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, RecordingServer)
        server.requests.append(self.path)
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + b"\0" * 8)
            self.close_connection = True
        elif self.path.startswith("/stall/"):
            server.stall.wait(5)
            self.send_error(404)
        else:
            super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Serve ``tmp_path / "www"`` on 127.0.0.1 from a thread; shut down at teardown."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = RecordingServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    try:
        yield Server(url=f"http://{host}:{port}", root=root, requests=httpd.requests)
    finally:
        httpd.stall.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def leftovers(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def fetch(synthetic_idx: dict, out: Path, sources: list[str], name: str = NAME, **kwargs: object) -> dict:
    """Run ``download.obtain`` for ``name`` with the synthetic data's checksum."""
    kwargs.setdefault("sha256", synthetic_idx["sha256"][name])
    return download.obtain(name, sources, out / f"{name}.gz", out / f"{name}.json", **kwargs)


def test_official_table_covers_the_four_files() -> None:
    assert set(download.OFFICIAL) == set(IDX_NAMES)
    assert download.OFFICIAL[IMAGES][1] == 16 + 60_000 * 28 * 28
    assert download.OFFICIAL["t10k-labels-idx1-ubyte"][1] == 8 + 10_000


def test_local_folder_copies_bytes_and_writes_sidecar(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    record = fetch(synthetic_idx, out, [str(synthetic_idx["dir"])])
    source_gz = (synthetic_idx["dir"] / f"{NAME}.gz").read_bytes()
    assert (out / f"{NAME}.gz").read_bytes() == source_gz
    sidecar = json.loads((out / f"{NAME}.json").read_text())
    assert sidecar == record
    assert sidecar == {
        "file": f"{NAME}.gz",
        "source": str(synthetic_idx["dir"]),
        "sha256": synthetic_idx["sha256"][NAME],
        "bytes": len(synthetic_idx["payload"][NAME]),
        "gz_sha256": hashlib.sha256(source_gz).hexdigest(),
    }
    assert leftovers(out) == [f"{NAME}.gz", f"{NAME}.json"]


def test_file_url_source(synthetic_idx: dict, tmp_path: Path) -> None:
    url = synthetic_idx["dir"].as_uri()
    record = fetch(synthetic_idx, tmp_path / "raw", [url], name=IMAGES)
    assert record["source"] == url
    assert gzip.decompress((tmp_path / "raw" / f"{IMAGES}.gz").read_bytes()) == synthetic_idx["payload"][IMAGES]


def test_http_source(synthetic_idx: dict, tmp_path: Path, server: Server) -> None:
    write_gz(server.root / f"{NAME}.gz", synthetic_idx["payload"][NAME])
    record = fetch(synthetic_idx, tmp_path / "raw", [server.url + "/"])
    assert server.requests == [f"/{NAME}.gz"]
    assert record["source"] == server.url + "/"
    assert (tmp_path / "raw" / f"{NAME}.gz").read_bytes() == (server.root / f"{NAME}.gz").read_bytes()


def test_different_compressions_of_the_same_content_both_verify(synthetic_idx: dict, tmp_path: Path) -> None:
    payload = synthetic_idx["payload"][IMAGES]
    fast = write_gz(tmp_path / "fast" / f"{IMAGES}.gz", payload, level=1, mtime=0)
    best = write_gz(tmp_path / "best" / f"{IMAGES}.gz", payload, level=9, mtime=1_600_000_000)
    assert fast.read_bytes() != best.read_bytes()
    one = fetch(synthetic_idx, tmp_path / "out1", [str(fast.parent)], name=IMAGES)
    two = fetch(synthetic_idx, tmp_path / "out2", [str(best.parent)], name=IMAGES)
    assert one["sha256"] == two["sha256"] == synthetic_idx["sha256"][IMAGES]
    assert one["gz_sha256"] != two["gz_sha256"]


def bad_gz(kind: str, synthetic_idx: dict) -> bytes:
    """gz bytes that are wrong in one specific way for the file ``IMAGES``."""
    good = gzip.compress(synthetic_idx["payload"][IMAGES], mtime=0)
    if kind == "not gzip":
        return b"<html>this is an error page, not data</html>"
    if kind == "corrupt":
        middle = len(good) // 2
        return good[: middle - 64] + bytes(128) + good[middle + 64 :]
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "wrong magic":  # a labels file offered under an images name
        return gzip.compress(synthetic_idx["payload"][NAME], mtime=0)
    if kind == "wrong checksum":  # a valid IDX image file, one pixel different
        changed = bytearray(synthetic_idx["payload"][IMAGES])
        changed[-1] ^= 0xFF
        return gzip.compress(bytes(changed), mtime=0)
    if kind == "empty":
        return gzip.compress(b"", mtime=0)
    raise AssertionError(kind)


BAD_CASES = {
    "not gzip": "not a valid gzip file",
    "corrupt": "not a valid gzip file",
    "truncated": "truncated gzip file",
    "wrong magic": "not an IDX image file: magic 0x00000801, expected 0x00000803",
    "wrong checksum": "SHA-256 mismatch",
    "empty": "not an IDX file: only 0 bytes",
}


@pytest.mark.parametrize("kind", BAD_CASES)
def test_bad_file_is_refused_and_nothing_left(kind: str, synthetic_idx: dict, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / f"{IMAGES}.gz").write_bytes(bad_gz(kind, synthetic_idx))
    out = tmp_path / "raw"
    with pytest.raises(PipelineError) as info:
        fetch(synthetic_idx, out, [str(folder)], name=IMAGES)
    assert BAD_CASES[kind] in str(info.value)
    assert str(folder) in str(info.value)
    assert leftovers(out) == []


def test_default_checksum_is_the_official_one(synthetic_idx: dict, tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as info:
        fetch(synthetic_idx, tmp_path / "raw", [str(synthetic_idx["dir"])], sha256=None)
    message = str(info.value)
    assert download.OFFICIAL[NAME][0] in message
    assert "the official file has 60,008" in message
    assert leftovers(tmp_path / "raw") == []


def test_invalid_sha256_option(synthetic_idx: dict, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="not a SHA-256 hex digest"):
        fetch(synthetic_idx, tmp_path / "raw", [str(synthetic_idx["dir"])], sha256="abc")


def test_fallback_to_second_source(synthetic_idx: dict, tmp_path: Path, server: Server) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / f"{IMAGES}.gz").write_bytes(bad_gz("truncated", synthetic_idx))
    write_gz(server.root / f"{IMAGES}.gz", synthetic_idx["payload"][IMAGES], level=3)
    record = fetch(synthetic_idx, tmp_path / "raw", [str(bad), server.url], name=IMAGES)
    assert record["source"] == server.url
    sidecar = json.loads((tmp_path / "raw" / f"{IMAGES}.json").read_text())
    assert sidecar["source"] == server.url
    assert (tmp_path / "raw" / f"{IMAGES}.gz").read_bytes() == (server.root / f"{IMAGES}.gz").read_bytes()
    assert leftovers(tmp_path / "raw") == [f"{IMAGES}.gz", f"{IMAGES}.json"]


def free_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_all_sources_failing_lists_every_source(synthetic_idx: dict, tmp_path: Path, server: Server) -> None:
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / f"{IMAGES}.gz").write_bytes(bad_gz("wrong checksum", synthetic_idx))
    sources = {
        str(tmp_path / "missing"): "does not exist",
        str(wrong): "SHA-256 mismatch",
        server.url + "/nothing-here": "HTTP error 404",
        server.url + "/short": "incomplete download",
        f"http://127.0.0.1:{free_port()}": "cannot reach",
        "ftp://example.org/data": "unsupported source type 'ftp'",
    }
    out = tmp_path / "raw"
    with pytest.raises(PipelineError) as info:
        fetch(synthetic_idx, out, list(sources), name=IMAGES)
    lines = str(info.value).splitlines()
    for source, reason in sources.items():
        assert any(line.startswith(f"  - {source}: ") and reason in line for line in lines), (source, lines)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "/usr/share/datasets/fashion-mnist" in message
    assert "https://github.com/zalandoresearch/fashion-mnist" in message
    assert "data.sources" in message
    assert leftovers(out) == []


def test_http_timeout_is_a_reason(synthetic_idx: dict, tmp_path: Path, server: Server) -> None:
    with pytest.raises(PipelineError, match="timed out"):
        fetch(synthetic_idx, tmp_path / "raw", [server.url + "/stall"], timeout=0.3)
    assert leftovers(tmp_path / "raw") == []


def test_valid_copy_is_not_fetched_again(synthetic_idx: dict, tmp_path: Path, server: Server) -> None:
    write_gz(server.root / f"{NAME}.gz", synthetic_idx["payload"][NAME])
    out = tmp_path / "raw"
    first = fetch(synthetic_idx, out, [server.url])
    before = (out / f"{NAME}.gz").stat().st_mtime_ns, (out / f"{NAME}.json").stat().st_mtime_ns
    assert len(server.requests) == 1
    second = fetch(synthetic_idx, out, [server.url])
    third = fetch(synthetic_idx, out, [str(tmp_path / "missing")])  # a dead source is never touched
    assert len(server.requests) == 1
    assert first == second == third
    assert ((out / f"{NAME}.gz").stat().st_mtime_ns, (out / f"{NAME}.json").stat().st_mtime_ns) == before


def test_invalid_existing_copy_is_replaced(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / f"{NAME}.gz").write_bytes(b"not gzip")
    (out / f"{NAME}.json").write_text("{}")
    record = fetch(synthetic_idx, out, [str(synthetic_idx["dir"])])
    assert gzip.decompress((out / f"{NAME}.gz").read_bytes()) == synthetic_idx["payload"][NAME]
    assert json.loads((out / f"{NAME}.json").read_text()) == record


def test_valid_copy_without_sidecar_is_fetched_again(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    write_gz(out / f"{NAME}.gz", synthetic_idx["payload"][NAME], level=1)
    record = fetch(synthetic_idx, out, [str(synthetic_idx["dir"])])
    assert record["source"] == str(synthetic_idx["dir"])
    assert (out / f"{NAME}.gz").read_bytes() == (synthetic_idx["dir"] / f"{NAME}.gz").read_bytes()


def test_invalid_existing_copy_removed_when_no_source_works(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    write_gz(out / f"{NAME}.gz", synthetic_idx["payload"][NAME][:-3])
    (out / f"{NAME}.json").write_text("{}")
    with pytest.raises(PipelineError):
        fetch(synthetic_idx, out, [str(tmp_path / "missing")])
    assert leftovers(out) == []


def test_cli_standalone(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    run_script(
        "dataset/download.py",
        "--name", IMAGES,
        "--source", tmp_path / "missing",
        "--source", synthetic_idx["dir"],
        "--output", out / f"{IMAGES}.gz",
        "--meta", out / f"{IMAGES}.json",
        "--sha256", synthetic_idx["sha256"][IMAGES],
        "--timeout", "5",
    )  # fmt: skip
    sidecar = json.loads((out / f"{IMAGES}.json").read_text())
    assert sidecar["source"] == str(synthetic_idx["dir"])
    assert sidecar["bytes"] == len(synthetic_idx["payload"][IMAGES])


def test_cli_error_is_one_clear_line(synthetic_idx: dict, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    result = run_script(
        "dataset/download.py",
        "--name", NAME,
        "--source", tmp_path / "missing",
        "--output", out / f"{NAME}.gz",
        "--meta", out / f"{NAME}.json",
        "--timeout", "5",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("error: ") == 1
    assert "Traceback" not in result.stderr
    assert str(tmp_path / "missing") in result.stderr
    assert leftovers(out) == []


def test_timeout_has_no_default(tmp_path: Path) -> None:
    """The workflow passes data.download_timeout from the config; the script holds no second default."""
    out = tmp_path / "raw"
    result = run_script(
        "dataset/download.py", "--name", NAME, "--source", tmp_path, "--output", out / f"{NAME}.gz",
        "--meta", out / f"{NAME}.json", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "--timeout" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_synthetic_images_fixture_is_an_image_file(synthetic_idx: dict) -> None:
    """Guards the premise of the magic tests: the fixture's images and labels carry different magics."""
    images, labels = synthetic_images(3, seed=0)
    assert idx_bytes(images)[:4] == bytes([0, 0, 8, 3])
    assert idx_bytes(labels)[:4] == bytes([0, 0, 8, 1])
    assert synthetic_idx["payload"][IMAGES][:4] != synthetic_idx["payload"][NAME][:4]
