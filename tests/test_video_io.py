"""Window sampling, sequential decoding and bad video files."""
import os

import numpy as np
import pytest

from datasets import video_io
from datasets.clip_sources import frames_from_video
from datasets.video_io import probe_video, read_frames, read_windows, write_video
from datasets.windows import sample_window_indices, window_starts
from utils.errors import SampleError

STEP = 12  # brightness step between frames: frame i is filled with STEP * i


def index_video(path, n=20, size=(32, 48)):
    """A tiny video whose frame i has brightness STEP * i, so decoded frames tell their index."""
    frames = np.zeros((n, *size, 3), np.uint8)
    for i in range(n):
        frames[i] = STEP * i
    write_video(path, frames, fps=25)
    return path


def decoded_indices(frames):
    return [int(round(v)) for v in frames.reshape(len(frames), -1).mean(axis=1) / STEP]


def test_windows_are_consecutive_spread_and_cover_the_clip():
    windows = sample_window_indices(300, 4, 8)
    assert [w[0] for w in windows] == window_starts(300, 4, 8) == [0, 97, 195, 292]
    for w in windows:
        assert w == list(range(w[0], w[0] + 8))
    assert windows[-1][-1] == 299


def test_short_video_repeats_its_last_frame():
    assert sample_window_indices(5, 2, 8) == [[0, 1, 2, 3, 4, 4, 4, 4]] * 2
    assert sample_window_indices(0, 1, 3) == [[0, 0, 0]]


def test_jitter_is_seeded_and_keeps_windows_inside_the_clip():
    a = sample_window_indices(300, 4, 8, rng=np.random.default_rng(1))
    b = sample_window_indices(300, 4, 8, rng=np.random.default_rng(1))
    assert a == b
    assert a != sample_window_indices(300, 4, 8)
    for seed in range(50):
        for w in sample_window_indices(40, 3, 8, rng=np.random.default_rng(seed)):
            assert 0 <= w[0] and w[-1] < 40 and w == list(range(w[0], w[0] + 8))


def test_read_frames_decodes_the_asked_frames_in_order(tmp_path):
    path = index_video(tmp_path / "idx.mp4")
    assert probe_video(path)[:1] == (20,)
    assert decoded_indices(read_frames(path, [19, 3, 3, 0])) == [19, 3, 3, 0]


def test_read_windows_are_consecutive_in_the_source(tmp_path):
    frames, indices, info = read_windows(index_video(tmp_path / "idx.mp4"), 3, 4)
    assert decoded_indices(frames) == indices.tolist()
    assert info.n_frames == 20 and frames.shape == (12, 32, 48, 3)


def test_a_container_that_claims_too_many_frames_is_resampled(tmp_path, monkeypatch):
    path = index_video(tmp_path / "idx.mp4")
    real_probe = video_io.probe_video
    monkeypatch.setattr(video_io, "probe_video", lambda p: real_probe(p)._replace(n_frames=100))
    frames, indices, info = read_windows(path, 2, 4)
    assert info.n_frames == 20
    assert indices.tolist() == [0, 1, 2, 3, 16, 17, 18, 19]
    assert decoded_indices(frames) == indices.tolist()


@pytest.mark.parametrize("claimed", [0, 100])  # no frame count in the header, or one too large
def test_training_clips_from_an_mp4_whose_header_is_wrong_come_from_its_real_frames(tmp_path, monkeypatch, claimed):
    path = index_video(tmp_path / "idx.mp4")
    real_probe = video_io.probe_video
    monkeypatch.setattr(video_io, "probe_video", lambda p: real_probe(p)._replace(n_frames=claimed))
    last_window = decoded_indices(frames_from_video(path, window=3, n_windows=4, num_frames=4, rng=None))
    assert last_window == [16, 17, 18, 19]


def test_too_short_when_fewer_frames_than_min_frames(tmp_path):
    with pytest.raises(SampleError) as err:
        read_windows(index_video(tmp_path / "idx.mp4", n=3), 1, 2, min_frames=4)
    assert err.value.reason == "too_short"


def test_read_frames_past_the_end_is_too_short(tmp_path):
    with pytest.raises(SampleError) as err:
        read_frames(index_video(tmp_path / "idx.mp4", n=3), [0, 5])
    assert err.value.reason == "too_short"


def _zero_byte(path):
    path.write_bytes(b"")


def _text(path):
    path.write_text("this is not a video\n" * 50)


def _truncated(path):
    index_video(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _one_pixel_wide(path):
    avi = path.with_suffix(".avi")  # mp4v cannot encode 1 px wide; MJPG can, the name stays .mp4
    write_video(avi, np.full((4, 32, 1, 3), 100, np.uint8), fourcc="MJPG")
    os.replace(avi, path)


@pytest.mark.parametrize("make, reason", [(_zero_byte, "unreadable"), (_text, "unreadable"),
                                          (_truncated, "unreadable"), (_one_pixel_wide, "too_small")])
def test_bad_files_raise_sample_errors(tmp_path, make, reason):
    path = tmp_path / "bad.mp4"
    make(path)
    for call in (lambda: probe_video(path), lambda: read_windows(path, 2, 4)):
        with pytest.raises(SampleError) as err:
            call()
        assert err.value.reason == reason


def test_missing_file(tmp_path):
    with pytest.raises(SampleError) as err:
        probe_video(tmp_path / "absent.mp4")
    assert err.value.reason == "missing"
