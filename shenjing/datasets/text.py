"""Character-level text: any text file as (x, y) sequences where y is x shifted by one character.

The language-model task of the textbook's NLP chapter: predict the next character. The vocabulary is the sorted
set of characters of the whole file; the split is by position (the first ``1 − val_fraction`` of the text trains,
the rest validates), so no validation character is ever seen in training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy

from ..data.dataset import Dataset
from ._download import data_root, download, md5

__all__ = ["CharText", "char_text", "tiny_shakespeare", "TINY_SHAKESPEARE_URL"]

TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINY_SHAKESPEARE_MD5 = "6fb458f1232090904fb40fe944165e91"


class CharText(Dataset):
    """Windows of ``block_size`` characters: sample i is (x, y) = (text[i : i+T], text[i+1 : i+T+1]) as int64 ids.

    Attributes:
        vocab: the characters, sorted; id k is ``vocab[k]``.
        data: the whole split as an int64 NumPy array of ids.
        stoi: character → id.
    """

    def __init__(self, ids: numpy.ndarray, vocab: list[str], block_size: int, name: str = "text") -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"{name}: block_size must be a positive int, got {block_size!r}")
        if len(ids) < block_size + 1:
            raise ValueError(f"{name}: the text has {len(ids)} characters, too few for block_size={block_size} "
                             f"(a sample needs block_size + 1)")
        self.data, self.vocab, self.block_size, self.name = ids, list(vocab), block_size, name
        self.stoi = {c: i for i, c in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.data) - self.block_size

    def __getitem__(self, index: Any) -> tuple:
        from ..tensor import tensor

        n = len(self)
        if isinstance(index, (int, numpy.integer)):
            i = int(index) + n if index < 0 else int(index)
            if not 0 <= i < n:
                raise IndexError(f"{self.name}: index {index} out of range for {n} samples")
            chunk = self.data[i : i + self.block_size + 1]
            return tensor(chunk[:-1]), tensor(chunk[1:])
        starts = numpy.asarray(index, dtype=numpy.int64).reshape(-1)  # a batch of indices at once
        if starts.size and (starts.min() < -n or starts.max() >= n):
            raise IndexError(f"{self.name}: an index is out of range for {n} samples")
        starts = numpy.where(starts < 0, starts + n, starts)
        window = starts[:, None] + numpy.arange(self.block_size + 1)[None, :]
        chunk = self.data[window]
        return tensor(chunk[:, :-1]), tensor(chunk[:, 1:])

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self.stoi))
        if unknown:
            raise ValueError(f"{self.name}: characters not in the vocabulary: {''.join(unknown)!r}")
        return [self.stoi[c] for c in text]

    def decode(self, ids: Any) -> str:
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        return "".join(self.vocab[int(i)] for i in ids)


def char_text(path: str | os.PathLike, block_size: int = 64, split: str = "train", val_fraction: float = 0.1,
              encoding: str = "utf-8") -> CharText:
    """A character-level data set over the text file at ``path``: ``split`` is "train", "val" or "all"."""
    if split not in ("train", "val", "all"):
        raise ValueError(f"char_text: split must be 'train', 'val' or 'all', got {split!r}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"char_text: val_fraction must be in [0, 1), got {val_fraction}")
    path = Path(path)
    try:
        text = path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise FileNotFoundError(f"char_text: no text file at {path}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"char_text: {path} is not {encoding} text ({error.reason} at byte {error.start}); "
                         f"pass encoding=") from None
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = numpy.fromiter((lookup[c] for c in text), dtype=numpy.int64, count=len(text))
    cut = int(len(ids) * (1 - val_fraction))
    part = {"train": ids[:cut], "val": ids[cut:], "all": ids}[split]
    return CharText(part, vocab, block_size, name=f"{path.name} ({split})")


def tiny_shakespeare(root: str | os.PathLike | None = None, block_size: int = 64, split: str = "train",
                     val_fraction: float = 0.1, download_if_missing: bool = True) -> CharText:
    """Tiny Shakespeare (1 115 394 characters, 65 distinct), nanoGPT's and char-rnn's corpus.

    Read from ``root/tinyshakespeare/input.txt`` (or ``root/input.txt``), ``root`` defaulting to ``$SHENJING_DATA``
    else ``~/.cache/shenjing``; downloaded from :data:`TINY_SHAKESPEARE_URL` if missing, checked by MD5.
    """
    folder = data_root(root)
    for candidate in (folder / "tinyshakespeare" / "input.txt", folder / "input.txt"):
        if candidate.exists():
            return char_text(candidate, block_size, split, val_fraction)
    target = folder / "tinyshakespeare" / "input.txt"
    if not download_if_missing:
        raise FileNotFoundError(f"tiny_shakespeare: {target} is missing; download {TINY_SHAKESPEARE_URL} there")

    def check(path: Path) -> None:
        if md5(path.read_bytes()) != TINY_SHAKESPEARE_MD5:
            raise ValueError("tiny_shakespeare: the downloaded file does not have the published MD5")

    try:
        download(TINY_SHAKESPEARE_URL, target, check)
    except Exception as error:  # noqa: BLE001 - offline or refused: one clear message
        raise RuntimeError(f"tiny_shakespeare: could not download {TINY_SHAKESPEARE_URL} ({error}); without "
                           f"internet, place input.txt at {target} or point $SHENJING_DATA at its folder") from None
    return char_text(target, block_size, split, val_fraction)
