"""FaceForensics++: the official folder layout, one compression, the chosen methods.

  original_sequences/youtube/<c>/videos/NNN.mp4                     REAL
  original_sequences/actors/<c>/videos/AA__scene.mp4                REAL (DeepFakeDetection's actors)
  manipulated_sequences/<Method>/<c>/videos/NNN_MMM.mp4             FAKE: target NNN, source MMM
  manipulated_sequences/DeepFakeDetection/<c>/videos/AA_BB__scene__CODE.mp4   FAKE: actors AA, BB
  splits/{train,val,test}.json                                      optional: [[NNN, MMM], ...]

Groups are leak-free: FF++ makes fakes in pairs (NNN_MMM and MMM_NNN), so NNN, MMM and both
fakes share a group (union-find over the ids); DeepFakeDetection groups by actor. When the
splits json files are present they decide the split of every id they list. A file whose name does
not fit its folder is dropped as bad_name.
"""
import json
import re
from pathlib import Path

from datasets.preparation.table import connected_groups, drop, list_videos, make_table
from datasets.splits import SplitLeakError
from utils.errors import UserError

DATASET = "ffpp"
METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")
COMPRESSIONS = ("raw", "c23", "c40")
ACTORS_METHOD = "DeepFakeDetection"  # the one method made from original_sequences/actors
SPLITS = ("train", "val", "test")
YOUTUBE_REAL = re.compile(r"^(\d+)$")
YOUTUBE_FAKE = re.compile(r"^(\d+)_(\d+)$")
ACTOR_REAL = re.compile(r"^(\d+)__.+$")
ACTOR_FAKE = re.compile(r"^(\d+)_(\d+)__.+$")


def is_ffpp(folder):
    return (Path(folder) / "original_sequences").is_dir() or (Path(folder) / "manipulated_sequences").is_dir()


def _sources(root, compression, methods):
    """(folder, method, actors?) for every folder of videos to read."""
    yield root / "original_sequences/youtube" / compression / "videos", "original", False
    if ACTORS_METHOD in methods:
        yield root / "original_sequences/actors" / compression / "videos", "original", True
    for method in methods:
        yield root / "manipulated_sequences" / method / compression / "videos", method, method == ACTORS_METHOD


def _ids(stem, label, actors):
    """The ids a video shows (youtube NNN or actor 'aAA'), or None when the name does not fit."""
    pattern = (ACTOR_FAKE if label else ACTOR_REAL) if actors else (YOUTUBE_FAKE if label else YOUTUBE_REAL)
    match = pattern.match(stem)
    if not match:
        return None
    return [("a" if actors else "") + g for g in match.groups()]


def read_official_splits(root):
    """splits/{train,val,test}.json -> {id: split} ({} when absent). UserError if malformed."""
    sides = {}
    for split in SPLITS:
        path = root / "splits" / f"{split}.json"
        if not path.is_file():
            continue
        try:
            pairs = json.loads(path.read_text())
            ids = [str(i) for pair in pairs for i in pair]
        except (OSError, ValueError, TypeError) as err:
            raise UserError(f"{path}: expected a JSON list of [NNN, MMM] pairs ({type(err).__name__}); "
                            f"fix it or remove it to draw the split by --seed") from None
        for i in ids:
            sides.setdefault(i, split)
    return sides


def load_ffpp(root, compression="c23", methods=None):
    """An FF++ folder -> (table, dropped) (see datasets/preparation/table.py)."""
    root = Path(root)
    if compression not in COMPRESSIONS:
        raise UserError(f"--compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
    present = [m for m in METHODS if (root / "manipulated_sequences" / m).is_dir()]
    methods = tuple(methods) if methods else tuple(present)
    rows, dropped, links = [], [], {}
    for folder, method, actors in _sources(root, compression, methods):
        part = str(folder.relative_to(root))
        label = int(method != "original")
        for path in list_videos(folder):
            name = f"{part}/{path.name}"
            ids = _ids(path.stem, label, actors)
            if ids is None:
                dropped.append(drop(name, "bad_name", f"{path.name} is not named like an FF++ "
                                    f"{'actor' if actors else 'youtube'} {'fake' if label else 'original'}"))
                continue
            links[name] = ids
            original = path.name if not label else (f"{path.stem.split('__')[0].split('_')[0]}__"
                                                     f"{path.stem.split('__')[1]}.mp4" if actors
                                                     else f"{ids[0]}.mp4")
            rows.append(dict(name=name, file=path.name, part=part, label=label, original=original,
                             dataset=DATASET, method=method, compression=compression,
                             source_path=str(path.resolve()), fake_kind=""))
    if not rows and not dropped:
        have = sorted({p.name for p in root.glob("*_sequences/*/*") if p.name in COMPRESSIONS}
                      | {p.name for p in root.glob("original_sequences/*/*") if p.name in COMPRESSIONS})
        hint = f"; it has {', '.join(have)}: pass --compression {have[0]}" if have else ""
        raise UserError(f"no {compression} videos of {', '.join(('original',) + methods)} in FF++ "
                        f"folder {root}{hint}")
    groups = connected_groups(links)
    official = read_official_splits(root)
    for row in rows:
        ids = links[row["name"]]
        row["group"] = f"{DATASET}:{groups[row['name']]}"
        row["split"] = max((official.get(i, "") for i in ids), key=_rank)  # most held-out side
    return make_table(rows), dropped


def check_pairs(table):
    """Raise SplitLeakError if an FF++ id (NNN, or actor aAA) has videos on two sides of the split:
    NNN.mp4, MMM.mp4, NNN_MMM.mp4 and MMM_NNN.mp4 must share one. Independent of the groups, so a
    grouping bug cannot hide a leak."""
    sides = {}
    for row in table[table.dataset == DATASET].itertuples():
        actors = "/actors/" in row.part or f"/{ACTORS_METHOD}/" in row.part
        for i in _ids(Path(row.name).stem, row.label, actors) or []:
            sides.setdefault(i, set()).add(row.split)
    leaked = sorted(i for i, s in sides.items() if len(s) > 1)
    if leaked:
        raise SplitLeakError(f"FF++ ids on two sides of the split: {leaked[:5]}")


def _rank(split):
    return ("", "train", "val", "test").index(split)
