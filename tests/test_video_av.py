"""The sparse PyAV decoder gives OpenCV's pixels for the same indices, and hands unsure files back."""
import numpy as np
import pytest

from conftest import SAMPLES
from datasets import video_io
from datasets.video_av import NotSparse, read_frames_sparse
from datasets.video_io import probe_video, read_frames, read_frames_cv2, write_video
from datasets.windows import sample_window_indices

# portrait and landscape 1080p DFDC (keyframes 250 frames apart), and a small FF++ c23 clip
REAL_CLIPS = [SAMPLES / "dfdc" / "brtujopkby.mp4", SAMPLES / "dfdc" / "lynaeydofd.mp4",
              SAMPLES / "ffpp" / "004.mp4"]


@pytest.mark.parametrize("clip", REAL_CLIPS, ids=lambda p: p.name)
def test_sparse_frames_are_opencvs_frames_on_real_clips(clip):
    if not clip.is_file():
        pytest.skip(f"{clip} is not here")
    n = probe_video(clip).n_frames
    rng = np.random.default_rng(0)
    # windows as prepare takes them, jittered ones as training does, and a repeat out of order
    indices = [i for w in sample_window_indices(n, 4, 8) for i in w]
    indices += [i for w in sample_window_indices(n, 3, 4, rng) for i in w] + [n - 1, 5, 5]
    found = read_frames_sparse(clip, indices, n)
    np.testing.assert_array_equal(np.stack([found[i] for i in indices]),
                                  read_frames_cv2(clip, indices))


def test_read_frames_takes_the_sparse_path_for_a_plain_mp4(tmp_path, monkeypatch):
    frames = np.random.default_rng(0).integers(0, 255, (30, 32, 48, 3), dtype=np.uint8)
    path = tmp_path / "v.mp4"
    write_video(path, frames)
    expected = read_frames_cv2(path, [3, 29, 0])

    def no_opencv(*args):
        raise AssertionError("OpenCV path used")
    monkeypatch.setattr(video_io, "read_frames_cv2", no_opencv)
    np.testing.assert_array_equal(read_frames(path, [3, 29, 0]), expected)


def test_a_frame_count_other_than_the_containers_goes_to_opencv(tmp_path, monkeypatch):
    path = tmp_path / "v.mp4"
    write_video(path, np.zeros((10, 16, 16, 3), np.uint8))
    with pytest.raises(NotSparse):
        read_frames_sparse(path, [0], expected_frames=11)
    with pytest.raises(NotSparse):
        read_frames_sparse(path, [10])  # past the last packet
    used = []
    monkeypatch.setattr(video_io, "read_frames_cv2", lambda p, i: used.append(i) or "cv2")
    assert read_frames(path, [0, 1], n_frames=11) == "cv2" and used == [[0, 1]]


def test_files_pyav_cannot_read_are_not_sparse(tmp_path):
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n" * 20)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path in (text, empty):
        with pytest.raises(NotSparse):
            read_frames_sparse(path, [0])
