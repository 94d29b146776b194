"""Face detection, tracking, smoothing and cropping: real clips and synthetic still faces."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.preparation.faces import (MARGIN, crop_resize, detect_faces, extract_faces, fill_missing,
                            get_mtcnn, smooth_boxes, square_crop_boxes, track_main_face)
from datasets.video_io import read_frames, write_video
from utils.errors import SampleError

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
CLIPS = ["dfdc/lynaeydofd.mp4", "dfdc/brtujopkby.mp4", "ffpp/634.mp4"]  # 1080p, portrait, 720p


def centre(boxes):
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


@pytest.mark.parametrize("clip", CLIPS)
def test_real_clip_faces_found_and_crops_centred_on_full_frame_faces(clip):
    path = SAMPLES / clip
    faces = extract_faces(path, n_windows=4, window_len=8, size=112, device="cpu", detect_every=1)
    assert faces.frames.shape == (32, 112, 112, 3) and faces.face_rate >= 0.95
    # MTCNN at full resolution on one frame per window is the reference
    firsts = faces.frame_indices[::8]
    full = [track_main_face([d])[0] for d in
            detect_faces(read_frames(path, firsts), scale=1.0, min_face_size=60)]
    full = np.stack(full)
    assert not np.isnan(full).any()
    crop = faces.boxes[::8]
    side = crop[:, 2] - crop[:, 0]
    assert np.all(np.abs(centre(crop) - centre(full)) < 0.08 * side[:, None])
    face_side = np.maximum(full[:, 2] - full[:, 0], full[:, 3] - full[:, 1])
    assert np.all(np.abs(side / (1 + 2 * MARGIN) / face_side - 1) < 0.2)


@pytest.fixture(scope="module")
def still_face_video(tmp_path_factory):
    """16 frames of one real face frame with fresh noise each: detections jitter, the face does not."""
    frame = read_frames(SAMPLES / "dfdc/lynaeydofd.mp4", [0])[0]
    frame = cv2.resize(frame, (480, 270), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    noisy = np.clip(frame[None].astype(int) + rng.integers(-12, 13, (16, *frame.shape)), 0, 255)
    path = tmp_path_factory.mktemp("still") / "still.mp4"
    write_video(path, noisy.astype(np.uint8), fps=25)
    return path


def test_smoothed_boxes_do_not_jitter_on_a_still_face(still_face_video):
    raw = track_main_face(detect_faces(read_frames(still_face_video, range(16)), scale=1.0))
    assert not np.isnan(raw).any() and np.ptp(raw, axis=0).max() > 0  # the detector does jitter
    faces = extract_faces(still_face_video, n_windows=2, window_len=8, size=64, device="cpu")
    for w in range(2):
        window = faces.boxes[w * 8:(w + 1) * 8]
        assert (window == window[0]).all()
    assert faces.face_rate == 1.0


def test_video_without_a_face_is_no_face(tmp_path):
    ramp = np.linspace(0, 255, 96, dtype=np.uint8)
    frames = np.stack([np.dstack([np.tile(ramp, (64, 1))] * 3)] * 6)
    write_video(tmp_path / "wall.mp4", frames)
    with pytest.raises(SampleError) as err:
        extract_faces(tmp_path / "wall.mp4", 2, 3, size=32, device="cpu")
    assert err.value.reason == "no_face"


def test_detector_none_keeps_the_whole_frame(tmp_path):
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    frames[:, :16] = 200  # top half bright
    write_video(tmp_path / "v.mp4", frames)
    faces = extract_faces(tmp_path / "v.mp4", 2, 2, size=16, detector="none")
    assert faces.frames.shape == (4, 16, 16, 3)
    assert faces.frames[:, :7].mean() > 150 and faces.frames[:, 9:].mean() < 50
    np.testing.assert_array_equal(faces.boxes, np.tile([0, 0, 32, 32], (4, 1)))


def test_center_fraction_keeps_the_middle_of_the_frame_at_its_resolution(tmp_path):
    frames = np.zeros((4, 48, 48, 3), np.uint8)
    frames[:, 12:36, 12:36] = 200  # a bright middle square of 24 px
    write_video(tmp_path / "v.mp4", frames)
    faces = extract_faces(tmp_path / "v.mp4", 2, 2, size=24, detector="none", center_fraction=0.5)
    np.testing.assert_array_equal(faces.boxes, np.tile([12, 12, 36, 36], (4, 1)))
    assert faces.frames[:, 2:-2, 2:-2].mean() > 190  # all of it is the middle square, 1:1


def test_tracking_follows_the_largest_face_and_fills_gaps():
    big = np.array([[100, 100, 200, 220]], np.float32)
    small = np.array([[300, 50, 340, 100]], np.float32)
    moved = big + 8
    detections = [np.concatenate([small, big]), small, np.zeros((0, 4), np.float32),
                  np.concatenate([moved, small])]
    track = track_main_face(detections)
    np.testing.assert_array_equal(track[0], big[0])
    assert np.isnan(track[1]).all() and np.isnan(track[2]).all()  # only the small face there
    np.testing.assert_array_equal(track[3], moved[0])
    filled = fill_missing(track)
    np.testing.assert_array_equal(filled[1], big[0])
    np.testing.assert_array_equal(filled[2], moved[0])


def test_a_one_frame_false_positive_does_not_become_the_main_face():
    face = np.array([[100, 100, 160, 170]], np.float32)
    glitch = np.array([[300, 300, 500, 500]], np.float32)
    detections = [face, face + 2, np.concatenate([glitch, face + 1]), face - 1]
    track = track_main_face(detections)
    np.testing.assert_array_equal(track[2], face[0] + 1)


def test_smoothing_is_per_window():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [1, 0, 11, 10],
                      [50, 50, 60, 60], [51, 50, 61, 60], [52, 50, 62, 60]], np.float32)
    smooth = smooth_boxes(boxes, 3)
    np.testing.assert_array_equal(smooth[:3], np.tile([1, 0, 11, 10], (3, 1)))
    np.testing.assert_array_equal(smooth[3:], np.tile([51, 50, 61, 60], (3, 1)))


def test_crop_past_the_border_keeps_the_face_centred():
    frame = np.full((40, 40, 3), 255, np.uint8)
    box = square_crop_boxes(np.array([[-10, -10, 10, 10]], np.float32), margin=0.0)[0]
    crop = crop_resize(frame, box, 20)
    assert crop[:10, :10].max() == 0 and crop[10:, 10:].min() == 255


def test_mtcnn_is_built_once_per_process():
    assert get_mtcnn("cpu", 40) is get_mtcnn("cpu", 40)
