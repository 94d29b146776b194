"""Peers' face extractors, run unchanged from a local copy of their repository (never committed).

polimi-ispl/icpr2020dfdc (GPL-3.0): BlazeFace on 32 frames per video, its own extract_faces.py.
Get it with
  git clone https://github.com/polimi-ispl/icpr2020dfdc ../peers/icpr2020dfdc
(its BlazeFace weights, blazeface/blazeface.pth and anchors.npy, ship in the repository), or point
--peer_dir / $DFD_PEER_DIR at a copy elsewhere.
"""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PEER_DIRS = {"polimi": ROOT.parent / "peers" / "icpr2020dfdc"}
NEEDED = {"polimi": ("extract_faces.py", "blazeface/blazeface.pth", "blazeface/anchors.npy")}


def peer_dir(name, given=None):
    return Path(given or os.environ.get("DFD_PEER_DIR") or PEER_DIRS[name])


def missing(name, folder):
    """What of the peer's copy is absent (empty when it can run)."""
    return [f for f in NEEDED[name] if not (Path(folder) / f).is_file()]


# isplutils/utils.py imports albumentations for its training transforms; extraction never calls
# them. When it is not installed, a stand-in that only satisfies the import goes on the path.
ALBUMENTATIONS_STANDIN = {
    "albumentations/__init__.py": "def __getattr__(name):\n    return None\n",
    "albumentations/pytorch.py": "ToTensorV2 = None\n",
}


def _import_path(folder, work):
    paths = [str(folder)]
    try:
        import albumentations  # noqa: F401 (only whether it imports)
    except ImportError:
        for rel, text in ALBUMENTATIONS_STANDIN.items():
            (work / "standin" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "standin" / rel).write_text(text)
        paths.append(str(work / "standin"))
    return os.pathsep.join(paths)


def polimi_command(folder, videos, metadata, work, device="cpu"):
    """The peer's command line over `videos` (a list of paths in one folder) and its environment."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    source = Path(videos[0]).parent
    # the video table its index_dfdc.py would make: path (relative to --source), label, original
    table = pd.DataFrame([dict(path=Path(v).name, label=metadata[Path(v).name]["label"] == "FAKE",
                               original=metadata[Path(v).name].get("original"))
                          for v in videos])
    table.to_pickle(work / "videos.pkl")
    cmd = [sys.executable, "extract_faces.py", "--source", str(source),
           "--videodf", str(work / "videos.pkl"), "--facesfolder", str(work / "faces"),
           "--facesdf", str(work / "faces.pkl"), "--checkpoint", str(work / "checkpoints"),
           "--device", device]
    env = dict(os.environ, PYTHONPATH=_import_path(folder, work))
    return cmd, env


def run_polimi(folder, videos, metadata, work, device="cpu"):
    """Run the peer's extractor; raises CalledProcessError with its output if it fails."""
    cmd, env = polimi_command(folder, videos, metadata, work, device)
    subprocess.run(cmd, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return len(list((Path(work) / "faces").rglob("*.jpg")))
