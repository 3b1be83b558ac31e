"""Fetch one Fashion-MNIST file from an ordered list of sources and keep it only if it is the real thing.

A source is a local folder, a ``file://`` folder URL or an ``http(s)://`` base URL; the file is looked up
as ``<source>/<name>.gz``. Sources are tried in order until one gives a file that verifies. Verification is on
the *decompressed* bytes (valid gzip, not truncated, the right IDX magic, the official SHA-256), so the
official gz files and Debian's re-compressed copies both pass. The gz bytes are kept exactly as fetched,
beside a JSON sidecar that records where they came from and their checksums.

Nothing is fetched when a verified copy is already in place, and a failed run leaves no file behind.

Example::

    PYTHONPATH=scripts python scripts/dataset/download.py --name train-labels-idx1-ubyte \\
        --source /usr/share/datasets/fashion-mnist \\
        --source https://fashion-mnist.s3-website.eu-central-1.amazonaws.com \\
        --timeout 60 --output results/data/raw/train-labels-idx1-ubyte.gz \\
        --meta results/data/raw/train-labels-idx1-ubyte.json
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import shutil
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kit.cli import ArgumentParser, PipelineError, run_cli
from kit.io import atomic_path, read_json, write_json

#: Official SHA-256 and size of the *decompressed* files (zalandoresearch/fashion-mnist). Checking the
#: decompressed content rather than the gz bytes accepts any faithful re-compression (e.g. Debian's).
OFFICIAL: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
    ),
    "train-labels-idx1-ubyte": ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008),
    "t10k-images-idx3-ubyte": ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016),
    "t10k-labels-idx1-ubyte": ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008),
}

#: IDX magic numbers: two zero bytes, data type 0x08 (unsigned byte), number of dimensions.
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801

CHUNK = 1 << 20

HOW_TO_GET_DATA = (
    "To get the data, either install Debian's package (`apt-get install dataset-fashion-mnist`; the files "
    "land in /usr/share/datasets/fashion-mnist) or download the four .gz files from "
    "https://github.com/zalandoresearch/fashion-mnist into a folder, then add that folder to `data.sources` "
    "in config/config.yaml."
)


class SourceError(Exception):
    """One source could not give a valid file; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Verified:
    """Checksums of a gz file whose decompressed content passed every check."""

    sha256: str
    bytes: int
    gz_sha256: str


def expected_magic(name: str) -> int:
    """The IDX magic a file must start with: image files are 3-D (0x803), label files 1-D (0x801)."""
    return IMAGES_MAGIC if "-images-" in name else LABELS_MAGIC


def verify_gz(path: Path, name: str, sha256: str) -> Verified:
    """Check that ``path`` is the file ``name`` with decompressed SHA-256 ``sha256``; raise ``SourceError``.

    Why stream: the largest file is 47 MB decompressed; hashing chunk by chunk never holds it in memory.
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    magic = expected_magic(name)
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                if size < 4:
                    head = (head + chunk)[:4]
                    if len(head) == 4:
                        check_magic(head, magic)
                digest.update(chunk)
                size += len(chunk)
    except EOFError as exc:
        raise SourceError(f"truncated gzip file: the stream ends early ({exc})") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise SourceError(f"not a valid gzip file ({exc})") from None
    if size < 4:
        raise SourceError(f"not an IDX file: only {size} bytes after decompression")
    actual = digest.hexdigest()
    if actual != sha256:
        official = OFFICIAL.get(name)
        hint = ""
        if official is not None and official[0] == sha256 and size != official[1]:
            hint = f"; it decompresses to {size:,} bytes, the official file has {official[1]:,}"
        raise SourceError(f"SHA-256 mismatch: decompressed content has {actual}, expected {sha256}{hint}")
    with open(path, "rb") as raw:
        gz_sha256 = hashlib.file_digest(raw, "sha256").hexdigest()
    return Verified(sha256=actual, bytes=size, gz_sha256=gz_sha256)


def check_magic(head: bytes, magic: int) -> None:
    """Refuse a file whose first four decompressed bytes are not the IDX magic expected for it."""
    (found,) = struct.unpack(">I", head)
    if found != magic:
        kind = "image" if magic == IMAGES_MAGIC else "label"
        raise SourceError(f"not an IDX {kind} file: magic 0x{found:08x}, expected 0x{magic:08x}")


def fetch(source: str, name: str, destination: Path, timeout: float) -> None:
    """Copy ``<source>/<name>.gz`` to ``destination``; any problem becomes a ``SourceError`` reason."""
    scheme = urllib.parse.urlsplit(source).scheme.lower() if "://" in source else ""
    if scheme in ("http", "https"):
        download(f"{source.rstrip('/')}/{name}.gz", destination, timeout, label=f"{name}.gz")
    elif scheme == "file":
        copy_local(file_url_to_path(source) / f"{name}.gz", destination)
    elif scheme:
        raise SourceError(f"unsupported source type {scheme!r}; use a folder, file://, http:// or https://")
    else:
        copy_local(Path(source).expanduser() / f"{name}.gz", destination)


def file_url_to_path(url: str) -> Path:
    """Turn a ``file://`` folder URL into a local path (only local hosts are meaningful here)."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(f"file:// URL names a remote host {parts.netloc!r}; use file:///absolute/folder")
    return Path(urllib.request.url2pathname(parts.path))


def copy_local(path: Path, destination: Path) -> None:
    """Copy a local file, reporting a missing folder or file as a reason rather than a crash."""
    if not path.parent.is_dir():
        raise SourceError(f"folder {path.parent} does not exist")
    if not path.is_file():
        raise SourceError(f"file {path} not found")
    try:
        shutil.copyfile(path, destination)
    except OSError as exc:
        raise SourceError(f"cannot read {path} ({exc.strerror or exc})") from None


def download(url: str, destination: Path, timeout: float, label: str) -> None:
    """Stream ``url`` into ``destination`` with a progress bar on stderr; network trouble is a reason."""
    from tqdm import tqdm  # only needed when something is actually downloaded

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total is not None and received != total:
                raise SourceError(f"incomplete download from {url}: got {received} of {total} bytes")
    except urllib.error.HTTPError as exc:
        raise SourceError(f"HTTP error {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise SourceError(f"cannot reach {url} ({exc.reason})") from None
    except TimeoutError:
        raise SourceError(f"timed out after {timeout:g} s while downloading {url}") from None
    except http.client.IncompleteRead as exc:
        raise SourceError(f"incomplete download from {url}: connection closed after {len(exc.partial)} bytes") from None
    except (http.client.HTTPException, OSError) as exc:
        raise SourceError(f"download of {url} failed ({exc.__class__.__name__}: {exc})") from None


def sidecar_matches(meta: Path, name: str, verified: Verified) -> bool:
    """Whether an existing sidecar describes exactly this verified file (else it is rewritten by a fetch)."""
    if not meta.is_file():
        return False
    try:
        data = read_json(meta)
    except PipelineError:
        return False
    return (
        isinstance(data, dict)
        and data.get("file") == f"{name}.gz"
        and data.get("sha256") == verified.sha256
        and data.get("gz_sha256") == verified.gz_sha256
    )


def obtain(
    name: str,
    sources: Sequence[str],
    output: Path,
    meta: Path,
    sha256: str | None = None,
    timeout: float = 60.0,
) -> dict:
    """Make ``output`` a verified copy of ``name`` and ``meta`` its sidecar; return the sidecar's content.

    Why the order of sources matters: the first one that yields a verified file wins, so a local mirror
    listed first spares the network, and a dead mirror only costs a reason in the error message.
    """
    expected = (sha256 or OFFICIAL[name][0]).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise PipelineError(f"--sha256 {sha256!r} is not a SHA-256 hex digest (64 hexadecimal characters)")
    if not sources:
        raise PipelineError(f"no source given for {name}.gz; pass at least one --source. {HOW_TO_GET_DATA}")

    if output.exists():
        try:
            verified = verify_gz(output, name, expected)
        except SourceError as exc:
            print(f"{output}: existing copy fails verification ({exc}); fetching it again", file=sys.stderr)
        else:
            if sidecar_matches(meta, name, verified):
                print(f"{output}: already present and verified; nothing to download", file=sys.stderr)
                return read_json(meta)
            print(f"{output}: sidecar {meta} missing or stale; fetching it again", file=sys.stderr)
    # Whatever is there is not trustworthy; remove it now so that a failed fetch leaves nothing behind.
    for stale in (output, meta):
        stale.unlink(missing_ok=True)

    failures: list[tuple[str, str]] = []
    for source in sources:
        try:
            with atomic_path(output) as tmp:
                fetch(source, name, tmp, timeout)
                verified = verify_gz(tmp, name, expected)
        except SourceError as exc:
            print(f"{name}.gz from {source}: {exc}", file=sys.stderr)
            failures.append((source, str(exc)))
            continue
        record = {
            "file": f"{name}.gz",
            "source": source,
            "sha256": verified.sha256,
            "bytes": verified.bytes,
            "gz_sha256": verified.gz_sha256,
        }
        try:
            write_json(meta, record)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        print(f"{output}: verified copy from {source} ({verified.bytes:,} bytes decompressed)", file=sys.stderr)
        return record

    tried = "\n".join(f"  - {source}: {reason}" for source, reason in failures)
    raise PipelineError(f"could not get a valid {name}.gz from any source; tried:\n{tried}\n{HOW_TO_GET_DATA}")


def build_parser() -> ArgumentParser:
    """The command line: which file, where to look for it, where to keep it."""
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, choices=sorted(OFFICIAL), help="which Fashion-MNIST file to fetch")
    parser.add_argument(
        "--source",
        dest="sources",
        action="append",
        required=True,
        metavar="SRC",
        help="folder, file:// folder URL or http(s):// base URL holding <name>.gz; repeat to add fallbacks, "
        "tried in order",
    )
    parser.add_argument("--output", required=True, type=Path, help="where to keep the verified .gz file")
    parser.add_argument("--meta", required=True, type=Path, help="JSON sidecar: source and checksums")
    parser.add_argument(
        "--sha256",
        default=None,
        metavar="HEX",
        help="expected SHA-256 of the decompressed file (default: the official checksum of --name)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        required=True,
        metavar="SECONDS",
        help="network timeout per HTTP source (config data.download_timeout)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and fetch one verified file."""
    args = build_parser().parse_args(argv)
    if args.timeout <= 0:
        raise PipelineError(f"--timeout {args.timeout:g} must be positive")
    obtain(args.name, args.sources, args.output, args.meta, sha256=args.sha256, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(run_cli(main))
