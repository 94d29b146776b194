"""Face cache files: round trip, partial window loading, atomic writes, bad files."""
import os

import numpy as np
import pytest

from datasets.face_cache import load_face_cache, read_cache_info, save_face_cache
from utils.errors import SampleError


def clip(n_windows=3, window_len=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    n = n_windows * window_len
    frames = np.repeat(np.linspace(0, 240, n).astype(np.uint8)[:, None, None, None], size, 1)
    frames = np.repeat(np.repeat(frames, size, 2), 3, 3) + rng.integers(0, 3, (n, size, size, 3), dtype=np.uint8)
    boxes = rng.uniform(0, 100, (n, 4)).astype(np.float32)
    return frames, boxes, np.arange(n, dtype=np.int64) * 10


@pytest.mark.parametrize("codec", ["jpeg", "raw"])
def test_round_trip(tmp_path, codec):
    frames, boxes, indices = clip()
    path = tmp_path / "v.npz"
    save_face_cache(path, frames, boxes, indices, 29.97, 4, codec=codec, n_frames=300)
    cache = load_face_cache(path)
    assert cache.frames.shape == frames.shape and cache.frames.dtype == np.uint8
    tolerance = 0 if codec == "raw" else 4
    assert np.abs(cache.frames.astype(int) - frames).mean() <= tolerance
    np.testing.assert_array_equal(cache.boxes, boxes)
    np.testing.assert_array_equal(cache.frame_indices, indices)
    assert (cache.fps, cache.window_len, cache.n_windows) == (29.97, 4, 3)
    assert read_cache_info(path) == dict(n_frames=300, fps=29.97, window_len=4, n=12)
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert set(z.files) >= {"boxes", "frame_indices", "fps", "window_len"}


def test_load_only_some_windows(tmp_path):
    frames, boxes, indices = clip()
    save_face_cache(tmp_path / "v.npz", frames, boxes, indices, 25, 4)
    part = load_face_cache(tmp_path / "v.npz", windows=[2, 0])
    assert part.n_windows == 2 and part.frames.shape[0] == 8
    assert part.frame_indices.tolist() == [80, 90, 100, 110, 0, 10, 20, 30]
    np.testing.assert_array_equal(part.boxes, np.concatenate([boxes[8:], boxes[:4]]))
    with pytest.raises(IndexError):
        load_face_cache(tmp_path / "v.npz", windows=[3])


def test_frames_must_fill_whole_windows(tmp_path):
    frames, boxes, indices = clip()
    with pytest.raises(ValueError):
        save_face_cache(tmp_path / "v.npz", frames[:5], boxes[:5], indices[:5], 25, 4)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    frames, boxes, indices = clip()
    path = tmp_path / "v.npz"

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_face_cache(path, frames, boxes, indices, 25, 4)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_bad_files_are_unreadable(tmp_path, damage):
    frames, boxes, indices = clip()
    path = tmp_path / "v.npz"
    save_face_cache(path, frames, boxes, indices, 25, 4)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"x" * 100, "empty": b""}[damage])
    for load in (load_face_cache, read_cache_info):
        with pytest.raises(SampleError) as err:
            load(path)
        assert err.value.reason == "unreadable"


def test_missing_file(tmp_path):
    with pytest.raises(SampleError) as err:
        load_face_cache(tmp_path / "absent.npz")
    assert err.value.reason == "missing"


def test_save_is_atomic_and_readable_by_others(tmp_path, monkeypatch):
    """A failed write leaves no file and no temp file; a written one gets the umask's mode."""
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        save_face_cache(tmp_path / "v.npz", frames, np.zeros((2, 4)), [0, 1], 25.0, 2)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    old = os.umask(0o022)
    try:
        save_face_cache(tmp_path / "v.npz", frames, np.zeros((2, 4)), [0, 1], 25.0, 2)
    finally:
        os.umask(old)
    assert (tmp_path / "v.npz").stat().st_mode & 0o777 == 0o644