"""explain.report: the files of predict.py --report, one page per video (the fallback video's with
its reason), the refusal of a non-empty folder, and the index rendered in headless Chromium."""
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch

from args import DataConfig, FaceConfig, ModelConfig
from datasets.preparation.video_windows import video_windows
from datasets.video_io import write_video
from explain import ReportWriter, VideoRecord, write_report
from explain.report import slug
from models import build_model
from utils.errors import UserError

FACES = FaceConfig(n_windows=3, window_len=4, size=48, face_detector="none")
DATA = DataConfig(num_frames=4, crop_size=32)
META = {"checkpoint": "checkpoints/tiny/best.pth", "model": {"backbone": "resnet18", "input_mode": "both"}}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(temporal="gru", embed_dim=8, hidden_size=8, input_mode="both")).eval()


@pytest.fixture(scope="module")
def records(tmp_path_factory, model):
    """Two scored videos (a real decode through video_windows) and one scored with the fallback."""
    folder = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(0)
    out = []
    for i, label in enumerate((1, 0)):
        path = folder / f"clip{i}.mp4"
        write_video(path, rng.integers(0, 256, (30, 60, 80, 3), dtype=np.uint8))
        windows = video_windows(path, FACES, DATA)
        with torch.no_grad():
            logits = model(torch.from_numpy(windows.clips).permute(0, 1, 4, 2, 3)).numpy()
        out.append(VideoRecord.from_windows(f"part_0/clip{i}.mp4", 0.8 - 0.5 * i, windows, logits, source=path, label=label))
    out.append(VideoRecord.fallback("broken.mp4", 0.5, "no_face", label=1))
    return out


def page_of(root, name):
    return root / "videos" / f"{slug(name)}.html"


def images_of(html_path):
    return [html_path.parent / src for src in re.findall(r'<img src="([^"]+)"', html_path.read_text())]


@pytest.fixture(scope="module")
def report(tmp_path_factory, records, model):
    root = tmp_path_factory.mktemp("report") / "out"
    write_report(root, records, META, model=model, top_windows=2)
    return root


def test_record_from_video_windows(records):
    scored = records[0]
    assert scored.scored and scored.clips.shape == (3, 4, 32, 32, 3)
    assert scored.frame_indices.shape == (3, 4) and scored.boxes.shape == (3, 4, 4)
    assert scored.face_rate == 1.0 and len(scored.window_probs) == 3
    assert scored.top_windows(2) == list(np.argsort(-scored.window_probs)[:2])
    assert not records[2].scored and records[2].top_windows(2) == []


def test_report_files_and_pages(report, records):
    index = (report / "index.html").read_text()
    assert index.count("<tr class=video>") == len(records)
    for record in records:
        assert f'href="videos/{slug(record.name)}.html"' in index
        assert page_of(report, record.name).is_file()
    assert "checkpoints/tiny/best.pth" in index and "log_loss" in index  # the model, and metrics: labels known
    assert (report / "roc.png").is_file() and (report / "hist.png").is_file()
    for html in [report / "index.html", *(report / "videos").glob("*.html")]:
        text = html.read_text()
        assert "http://" not in text and "https://" not in text  # offline: nothing fetched
        for image in images_of(html):
            assert image.is_file(), image  # every picture sits beside its page
    scored = page_of(report, records[0].name)
    pictures = {p.name for p in images_of(scored)}
    top = records[0].top_windows(2)  # the two highest-P(fake) windows, and only those
    expected = {"timeline.png"} | {f"w{w}_{kind}" for w in top for kind in ("frame.jpg", "faces.png", "cam_rgb.png", "cam_diff.png")}
    assert pictures == expected
    assert "difference stream" in scored.read_text()


def test_fallback_page_has_its_reason_and_no_heatmaps(report, records):
    page = page_of(report, "broken.mp4")
    text = page.read_text()
    assert "Not scored: no_face" in text and "0.500" in text
    assert images_of(page) == []


def test_early_fusion_page_says_one_trunk(tmp_path, records):
    torch.manual_seed(0)
    early = build_model(ModelConfig(temporal="gru", embed_dim=8, hidden_size=8, input_mode="both", fusion="early")).eval()
    write_report(tmp_path / "r", records[:1], META, model=early, top_windows=1)
    page = page_of(tmp_path / "r", records[0].name)
    assert "cannot be split by stream" in page.read_text()
    assert [p.name for p in images_of(page) if "_cam_" in p.name] == [f"w{records[0].top_windows(1)[0]}_cam_rgb_diff.png"]


def test_non_empty_folder_is_refused_unless_overwrite(tmp_path, records):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(UserError) as caught:
        write_report(tmp_path / "r", records[2:], META)
    assert len(str(caught.value).splitlines()) == 1 and "--overwrite" in str(caught.value)
    write_report(tmp_path / "r", records[2:], META, overwrite=True)
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"  # overwrite never deletes files it did not write
    stale = page_of(tmp_path / "r", "broken.mp4")
    write_report(tmp_path / "r", [VideoRecord.fallback("other.mp4", 0.5, "unreadable")], META, overwrite=True)
    assert not stale.exists() and page_of(tmp_path / "r", "other.mp4").is_file()  # an earlier report's pages go


def test_flagged_pages_only(tmp_path, records):
    report = ReportWriter(tmp_path / "r", META, pages="flagged")
    for record in records:
        report.add(record)
    report.close()
    assert page_of(tmp_path / "r", records[0].name).is_file()  # P(fake) 0.8
    assert not page_of(tmp_path / "r", records[1].name).exists()  # P(fake) 0.3
    assert page_of(tmp_path / "r", "broken.mp4").is_file()  # not scored: always a page
    assert (tmp_path / "r" / "index.html").read_text().count("<tr class=video>") == 3


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(*args):
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(chromium() is None, reason="headless Chromium not installed (apt-get install chromium; .ci/run does it)")
def test_index_renders_in_headless_chromium(report, records, tmp_path):
    url = (report / "index.html").resolve().as_uri()
    dom = run_chromium("--dump-dom", url).stdout
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded, dom[:500]
    assert loaded.group(1) == loaded.group(2) == "2", dom[:500]  # ROC and histogram, both decoded
    assert dom.count('<tr class="video">') == len(records)
    shot = tmp_path / "index.png"
    run_chromium(f"--screenshot={shot}", "--window-size=1000,900", url)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    page = page_of(report, records[0].name).resolve().as_uri()
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', run_chromium("--dump-dom", page).stdout)
    assert loaded and loaded.group(1) == loaded.group(2) and int(loaded.group(1)) >= 7
