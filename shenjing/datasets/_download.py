"""Where data sets live on disk and how missing files arrive: the cache folder, downloads with checksums."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["data_root", "md5", "download", "fetch"]

CHUNK = 1 << 16


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder data sets are cached in: ``root`` if given, else ``$SHENJING_DATA``, else ``~/.cache/shenjing``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("SHENJING_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "shenjing"


def md5(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def _progress(total: int | None, name: str) -> object | None:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an extra; without it downloads are silent
        return None
    # disable=None: a bar on a terminal, nothing in logs and tests
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None)


def download(url: str, path: Path, check: Callable[[Path], None] | None = None, timeout: float = 30) -> Path:
    """Download ``url`` to ``path`` atomically: into a temporary file beside it, checked, then renamed.

    Args:
        url: where from (``https://``, ``http://`` or ``file://``).
        path: where to; its folder is created. An interrupted or rejected download leaves nothing at ``path``.
        check: called with the temporary file before the rename; raises to reject the content.
        timeout: seconds to wait for the server.
    """
    import tempfile
    import urllib.request  # here, not at the top: it costs ~20 ms of `import shenjing`

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            bar = _progress(int(length) if length else None, path.name)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
        if check is not None:
            check(Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def fetch(
    name: str,
    files: Sequence[str],
    folder: Path,
    mirrors: Sequence[str],
    check: Callable[[Path], None] | None = None,
) -> None:
    """Download each of ``files`` into ``folder`` from the first mirror that serves it (and passes ``check``).

    Raises:
        RuntimeError: no mirror served a file (offline, say), naming the files to place in ``folder`` by hand.
    """
    for filename in files:
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + filename
            try:
                download(url, folder / filename, check)
                break
            except Exception as error:  # noqa: BLE001 - any failure means: try the next mirror
                failures.append(f"  {url}: {type(error).__name__}: {error}")
        else:
            missing = [f for f in files if not (folder / f).exists()]
            raise RuntimeError(
                f"{name}: could not download {filename}; tried\n" + "\n".join(failures) + "\n"
                f"Without internet, place these files in {folder} (or point $SHENJING_DATA or root= at a folder "
                f"holding them): {', '.join(missing)}"
            )
