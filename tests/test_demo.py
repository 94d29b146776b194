"""The embedded demo generator: DFDC-format output, determinism, and the face-swap invariants."""
import hashlib
import json
import re

import cv2
import numpy as np
import pytest

from datasets.demo.generator import FAKE_KINDS, Fake, main, make_demo_dataset, original_recipe, render_clip, render_clips
from utils.errors import UserError

TINY = dict(n_originals=3, fakes_per_original=3, n_frames=8, size=48, n_parts=2, workers=1)


def decode(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    cap.release()
    return np.array(frames)


def grey(frames):
    return frames.astype(np.float32).mean(-1)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo"), seed=1, **TINY)


def read_metadata(root):
    return {part.name: json.loads((part / "metadata.json").read_text())
            for part in sorted(root.glob("dfdc_train_part_*"))}


def test_metadata_is_dfdc_format(tiny_set):
    parts = read_metadata(tiny_set)
    assert sorted(parts) == ["dfdc_train_part_0", "dfdc_train_part_1"]
    n_real = 0
    for part, meta in parts.items():
        assert sorted(meta) == sorted(p.name for p in (tiny_set / part).glob("*.mp4"))
        kinds_of = {}
        for name, entry in meta.items():
            assert re.fullmatch(r"[a-z]{10}\.mp4", name)
            assert entry["split"] == "train"
            if entry["label"] == "REAL":
                n_real += 1
                assert entry["original"] is None and "fake_kind" not in entry
            else:
                assert entry["label"] == "FAKE"
                assert meta[entry["original"]]["label"] == "REAL"  # the original is in the same part
                kinds_of.setdefault(entry["original"], []).append(entry["fake_kind"])
        assert all(sorted(kinds) == sorted(FAKE_KINDS) for kinds in kinds_of.values())
    assert n_real == TINY["n_originals"]
    video = decode(tiny_set / "dfdc_train_part_0" / next(iter(parts["dfdc_train_part_0"])))
    assert video.shape == (TINY["n_frames"], TINY["size"], TINY["size"], 3)


def test_same_seed_same_files(tiny_set, tmp_path):
    def digest(root, decoded):
        files = sorted(root.rglob("*.mp4")) + sorted(root.rglob("metadata.json"))
        return {str(f.relative_to(root)): hashlib.sha256(
            decode(f).tobytes() if decoded and f.suffix == ".mp4" else f.read_bytes()).hexdigest() for f in files}

    again = make_demo_dataset(tmp_path / "again", seed=1, **dict(TINY, workers=2))
    assert digest(again, decoded=True) == digest(tiny_set, decoded=True)
    assert digest(again, decoded=False) == digest(tiny_set, decoded=False)  # byte for byte
    other = make_demo_dataset(tmp_path / "other", seed=2, **TINY)
    assert read_metadata(other) != read_metadata(tiny_set)


@pytest.mark.parametrize("index", range(4))
def test_fakes_differ_only_inside_the_face_region(index):
    identity, motion, fakes = original_recipe(seed=3, index=index, n_fakes=3, n_frames=10)
    (real, *faked), region = render_clips(identity, motion, 64, fakes)
    assert region.any() and not region.all()
    for fake, frames in zip(fakes, faked):
        assert np.array_equal(frames[~region], real[~region]), fake.kind
        assert np.abs(grey(frames) - grey(real))[region].mean() > 0.5, fake.kind
    # the single-clip renderer is the same renderer
    frames, same_region = render_clip(identity, motion, 64, fakes[0])
    assert np.array_equal(frames, faked[0]) and np.array_equal(same_region, region)


def test_a_fake_that_changes_nothing_is_the_original():
    identity, motion, _ = original_recipe(seed=4, index=0, n_fakes=0, n_frames=6)
    T = motion.n_frames
    null = Fake("flicker", identity, np.zeros((T, 2)), np.ones(T), 0.0, np.ones((T, 3)), np.ones(T), (0.0, 0.0), 1.0)
    (real, faked), _ = render_clips(identity, motion, 64, [null])
    assert np.abs(real.astype(int) - faked.astype(int)).max() <= 1  # float rounding only


def test_decoded_fakes_differ_mostly_inside_the_face_region(tmp_path):
    root = make_demo_dataset(tmp_path, seed=5, n_originals=1, n_frames=8, size=64, n_parts=1, workers=1)
    meta = read_metadata(root)["dfdc_train_part_0"]
    real_name = next(name for name, e in meta.items() if e["label"] == "REAL")
    identity, motion, fakes = original_recipe(seed=5, index=0, n_fakes=3, n_frames=8)
    _, region = render_clips(identity, motion, 64)
    real = grey(decode(root / "dfdc_train_part_0" / real_name))
    for name, entry in meta.items():
        if entry["label"] == "FAKE":
            diff = np.abs(grey(decode(root / "dfdc_train_part_0" / name)) - real)
            # mp4 compression spreads a little of the change into neighbouring blocks, no more
            assert diff[~region].mean() < 0.2 * diff[region].mean(), entry["fake_kind"]


def test_flicker_is_visible_only_over_time():
    n = 6
    stats = {"real": [], "flicker": []}
    for index in range(n):
        identity, motion, fakes = original_recipe(seed=6, index=index, n_fakes=3, n_frames=16)
        flicker = [f for f in fakes if f.kind == "flicker"]
        (real, faked), region = render_clips(identity, motion, 64, flicker)
        for key, frames in (("real", real), ("flicker", faked)):
            g = grey(frames)
            face_means = np.array([g[t][region[t]].mean() for t in range(len(g))])
            both = region[1:] & region[:-1]
            motion_energy = np.abs(np.diff(g, axis=0))[both].mean()
            stats[key].append((face_means.mean(), face_means.std(), motion_energy))
    real, flicker = np.array(stats["real"]), np.array(stats["flicker"])
    # each frame alone: the face is as bright as the original's, frame after frame
    assert np.abs(flicker[:, 0] - real[:, 0]).max() < 0.5
    assert np.abs(flicker[:, 1] - real[:, 1]).max() < 0.5
    # over time: clearly more change from one frame to the next inside the face
    assert (flicker[:, 2] > 1.3 * real[:, 2]).all()


def test_bad_sizes_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="size must be even"):
        make_demo_dataset(tmp_path, size=63, n_originals=1)
    with pytest.raises(UserError, match="n_originals"):
        make_demo_dataset(tmp_path, n_originals=0)


def test_command_line(tmp_path, capsys):
    main(["--out", str(tmp_path), "--seed", "7", "--n_originals", "2", "--fakes_per_original", "1",
          "--n_frames", "4", "--size", "32", "--n_parts", "1", "--workers", "1"])
    assert "wrote 4 videos (2 REAL)" in capsys.readouterr().out
    assert len(read_metadata(tmp_path)["dfdc_train_part_0"]) == 4
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path), "--size", "33"])
    assert exit_.value.code == 2 and "error: demo size must be even" in capsys.readouterr().err


def test_the_prepared_demo_is_reused_only_when_made_by_the_same_recipe(tmp_path, monkeypatch):
    from datasets.demo import build as demo_setup
    monkeypatch.setattr(demo_setup, "DEMO_ORIGINALS", 2)
    root = tmp_path / "demo"
    csv = demo_setup.ensure_demo_dataset(root, seed=0)
    assert csv.is_file() and json.loads((root / "demo.json").read_text())["seed"] == 0
    (root / "my_notes.txt").write_text("kept")
    built = csv.stat().st_mtime_ns
    assert demo_setup.ensure_demo_dataset(root, seed=0).stat().st_mtime_ns == built  # reused
    demo_setup.ensure_demo_dataset(root, seed=1)  # another seed: rebuilt, not silently reused
    assert json.loads((root / "demo.json").read_text())["seed"] == 1
    assert (root / "my_notes.txt").read_text() == "kept"  # only the demo's own files are replaced
    (root / "demo.json").unlink()  # a demo built by an older version has no stamp
    demo_setup.ensure_demo_dataset(root, seed=1)
    assert (root / "demo.json").is_file()
