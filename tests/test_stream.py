"""iter_extract_faces: every video once, in input order, bad ones as SampleErrors, same crops."""
import numpy as np

from datasets.preparation.faces import FaceCrops, extract_faces
from datasets.preparation.stream import iter_extract_faces
from datasets.video_io import write_video
from utils.errors import SampleError


def test_yields_in_input_order_with_bad_videos_as_sample_errors(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = tmp_path / f"v{i}.mp4"
        write_video(path, rng.integers(0, 255, (10 + i, 24, 32, 3), dtype=np.uint8))
        paths.append(path)
    (tmp_path / "text.mp4").write_text("not a video\n" * 20)
    paths[2:2] = [tmp_path / "absent.mp4", tmp_path / "text.mp4"]
    kwargs = dict(size=16, detector="none")

    out = list(iter_extract_faces(paths, 2, 3, workers=2, **kwargs))

    assert [i for i, _ in out] == list(range(len(paths)))
    assert [r.reason for _, r in out if isinstance(r, SampleError)] == ["missing", "unreadable"]
    for (i, result), path in zip(out, paths):
        if isinstance(result, FaceCrops):
            expected = extract_faces(path, 2, 3, **kwargs)
            np.testing.assert_array_equal(result.frames, expected.frames)
            assert result.n_frames == expected.n_frames


def test_an_unexpected_error_is_an_unreadable_sample(tmp_path, monkeypatch):
    from datasets.preparation import stream

    def broken(*args, **kwargs):
        raise RuntimeError("decoder bug")
    monkeypatch.setattr(stream, "extract_faces", broken)
    [(index, result)] = list(iter_extract_faces([tmp_path / "x.mp4"], 1, 2, workers=1))
    assert index == 0 and result.reason == "unreadable" and "decoder bug" in result.detail


def test_streamed_windows_are_video_windows_own(tmp_path):
    from args import DataConfig, FaceConfig
    from datasets.preparation.video_windows import iter_video_windows, video_windows
    faces = FaceConfig(n_windows=2, window_len=4, size=24, face_detector="none")
    data = DataConfig(num_frames=2, crop_size=16)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"v{i}.mp4")
        write_video(paths[-1], np.random.default_rng(i).integers(0, 255, (12, 24, 32, 3), np.uint8))
    got = list(iter_video_windows([paths[0], None, paths[1], paths[2]], faces, data, workers=2))
    assert [i for i, _ in got] == [0, 1, 2, 3] and got[1][1].reason == "unsafe_path"  # never opened
    for (_, windows), path in zip([got[0], got[2], got[3]], paths):
        expected = video_windows(path, faces, data)
        np.testing.assert_array_equal(windows.clips, expected.clips)
        np.testing.assert_array_equal(windows.frame_indices, expected.frame_indices)
