"""DFDC folders -> balanced, leak-free videos CSV + face cache + report (resumable, shardable).

Output (out_dir):
  faces/<part>/<stem>.npz       one face cache per video (datasets/face_cache.py)
  faces/<part>/<stem>.fail.json a video that failed for good (reason); delete it to retry
  videos_df.csv, report.json    written by a run without --shard
  prepare_config.json           the extraction settings; a rerun with others is refused

Resume: a video whose .npz loads (or that has a .fail.json) is skipped, so rerunning the same
command after a crash only does the rest. Writes are atomic, so a killed run leaves at most a
hidden temp file, which is never read and is removed by the next run without --shard.

Shards: `--shard i/n` extracts faces of the videos whose index (in name order, after balancing)
is i mod n, and writes nothing else. Balance and split are deterministic from the metadata and
the seed, so every shard agrees on the list. When all shards are done, the same command without
--shard finds every video cached and writes the CSV and the report (it also does any video a
shard missed).
"""
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from datasets import face_cache
from datasets.preparation.dfdc import load_metadata
from datasets.preparation.faces import DETECT_EVERY, default_device, extract_faces
from datasets.preparation.stream import cores_shared_by
from datasets.splits import add_groups, balance_videos, class_weights, split_counts, split_videos
from utils.atomic import write_text_atomic
from utils.errors import SampleError, UserError

CSV_COLUMNS = ["name", "label", "is_valid", "original", "group", "part", "frames", "fps",
               "cache_path", "fake_kind", "source_path"]
DETECTORS = ("mtcnn", "none")
# settings of folders prepared before the setting existed (detect_every was 2 then)
SETTINGS_BEFORE = dict(center_fraction=1.0, detect_every=2)


def prepare_dataset(inputs, out_dir, *, n_windows=4, window_len=8, size=224, face_detector="mtcnn",
                    center_fraction=1.0, balance="pair", split_by="original", val_fraction=0.2,
                    val_parts=None, seed=0, workers=2, shard=(0, 1), device=None, min_frames=1,
                    detect_every=DETECT_EVERY, verbose=True):
    """Prepare DFDC folders (see the module doc) -> report dict (also written to report.json)."""
    settings = dict(n_windows=int(n_windows), window_len=int(window_len), size=int(size),
                    face_detector=face_detector, center_fraction=float(center_fraction),
                    min_frames=int(min_frames), detect_every=int(detect_every))
    shard = _check_args(settings, workers, shard)
    out_dir = Path(out_dir)
    _claim_out_dir(out_dir, settings)

    table, dropped = load_metadata(inputs)
    if table.empty:
        first = f" (first: {dropped[0]['name']}: {dropped[0]['reason']})" if dropped else ""
        raise UserError(f"none of the {len(dropped)} videos listed in the metadata of "
                        f"{', '.join(map(str, inputs))} can be used{first}; check the input folders")
    table, balance_info = balance_videos(add_groups(table), balance, seed)
    table = split_videos(table, split_by, val_fraction, val_parts, seed)

    if shard[1] == 1:
        _remove_temp_files(out_dir / "faces")
    tasks = [_task(row, out_dir, settings, device) for i, row in enumerate(table.itertuples())
             if i % shard[1] == shard[0]]
    results = _run_tasks(tasks, workers, verbose, desc=_bar_name(shard))

    if shard[1] > 1:
        report = dict(shard=f"{shard[0]}/{shard[1]}", n_videos=len(tasks),
                      n_ok=sum(r["ok"] for r in results.values()),
                      dropped_counts=dict(Counter(r["reason"] for r in results.values()
                                                  if not r["ok"])))
        if verbose:
            print(f"shard {report['shard']}: {report['n_videos']} videos, {report['n_ok']} cached; "
                  f"when all shards are done, run the same command without --shard to write the CSV")
        return report

    csv, failed = _csv_rows(table, results)
    report = _report(csv, dropped + failed, balance_info, settings,
                     dict(balance=balance, split_by=split_by, val_fraction=val_fraction,
                          val_parts=val_parts, seed=seed, inputs=[str(p) for p in inputs]))
    write_text_atomic(out_dir / "videos_df.csv", csv.to_csv(index=False))
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2))
    if verbose:
        print(format_summary(report, out_dir))
    return report


def _check_args(settings, workers, shard):
    if settings["n_windows"] < 1 or settings["window_len"] < 1:
        raise UserError("--n_windows and --window_len must be >= 1, e.g. 4 and 8")
    if settings["size"] < 8:
        raise UserError(f"--size {settings['size']} is too small; use >= 8 (default 224)")
    if settings["face_detector"] not in DETECTORS:
        raise UserError(f"--face_detector {settings['face_detector']!r} is unknown; use mtcnn or none")
    if not 0 < settings["center_fraction"] <= 1:
        raise UserError(f"--center_fraction {settings['center_fraction']} must be in (0, 1]")
    if settings["center_fraction"] != 1 and settings["face_detector"] != "none":
        raise UserError("--center_fraction crops whole frames; it needs --face_detector none")
    if settings["detect_every"] < 1:
        raise UserError(f"--detect_every {settings['detect_every']} must be >= 1 (default {DETECT_EVERY})")
    if int(workers) < 1:
        raise UserError(f"--workers {workers} must be >= 1")
    return parse_shard(shard if isinstance(shard, str) else f"{shard[0]}/{shard[1]}")


def parse_shard(text):
    """'i/n' -> (i, n). UserError if malformed."""
    try:
        index, count = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise UserError(f"--shard {text!r} is malformed; use i/n, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise UserError(f"--shard {text} is invalid; use i/n with 0 <= i < n, e.g. 0/4")
    return index, count


def _claim_out_dir(out_dir, settings):
    """Create out_dir and pin its extraction settings: caches made otherwise must not mix in."""
    config = out_dir / "prepare_config.json"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if config.is_file():
            old = dict(SETTINGS_BEFORE, **json.loads(config.read_text()))
            if old != settings:
                changed = ", ".join(f"{k}={old.get(k)}->{v}" for k, v in settings.items()
                                    if old.get(k) != v)
                raise UserError(f"{out_dir} holds faces prepared with other settings ({changed}); "
                                f"use another --out or the same settings")
        else:
            write_text_atomic(config, json.dumps(settings, indent=2))
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot use output folder {out_dir} ({err}); choose a writable --out") from None


def _remove_temp_files(faces_dir):
    """Leftovers of killed runs (never read as caches; only removed when no shard may be running)."""
    if faces_dir.is_dir():
        for tmp in faces_dir.rglob(".*.tmp"):
            if face_cache.is_temp_file(tmp.name):
                tmp.unlink(missing_ok=True)


def cache_relpath(part, file):
    return str(Path("faces") / part / Path(file).with_suffix(".npz"))


def _task(row, out_dir, settings, device):
    cache = out_dir / cache_relpath(row.part, row.file)
    return dict(name=row.name, source=row.source_path, cache=str(cache),
                fail=str(cache.with_suffix(".fail.json")), device=device, **settings)


def _bar_name(shard):
    return "faces" if shard[1] == 1 else f"faces {shard[0]}/{shard[1]}"


def _run_tasks(tasks, workers, verbose, desc):
    """Run prepare_one over tasks (`workers` threads, one process) -> {name: result}.

    Threads, not processes: decoding and detection release the GIL, and a spawned worker would
    pay seconds of start-up (torch, MTCNN) before its first video. Results are small dicts (the
    caches are written by prepare_one), so memory stays flat.
    """
    results = {}
    bar = tqdm(total=len(tasks), desc=desc, unit="video", disable=not verbose, file=sys.stderr,
               smoothing=0.1)
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            results[task["name"]] = prepare_one(task)
            bar.update()
    else:
        with cores_shared_by(workers), ThreadPoolExecutor(min(workers, len(tasks))) as pool:
            for future in as_completed([pool.submit(prepare_one, t) for t in tasks]):
                result = future.result()
                results[result["name"]] = result
                bar.update()
    bar.close()
    return results


def prepare_one(task):
    """One video: reuse its cache or failure record, else extract faces and write them.

    Never raises for a bad video: returns dict(name, ok, reason, detail, n_frames, fps).
    """
    name = task["name"]
    try:
        return dict(name=name, ok=True, cached=True, **_info(face_cache.read_cache_info(task["cache"])))
    except SampleError:
        pass  # not done yet, or half-written: (re)do it
    failure = _read_failure(task["fail"])
    if failure:
        return dict(name=name, ok=False, cached=True, **failure)
    try:
        faces = extract_faces(task["source"], task["n_windows"], task["window_len"], task["size"],
                              task["face_detector"], task["device"] or default_device(),
                              min_frames=task["min_frames"], center_fraction=task["center_fraction"],
                              detect_every=task["detect_every"])
    except SampleError as err:
        failure = dict(reason=err.reason, detail=err.detail)
        _write_or_stop(task["fail"], lambda path: write_text_atomic(path, json.dumps(failure)))
        return dict(name=name, ok=False, cached=False, **failure)
    except Exception as err:  # a decoder/detector bug on one odd file must not stop the run
        return dict(name=name, ok=False, cached=False, reason="unreadable",
                    detail=f"unexpected {type(err).__name__}: {err}")
    _write_or_stop(task["cache"], lambda path: face_cache.save_face_cache(
        path, faces.frames, faces.boxes, faces.frame_indices, faces.fps, faces.window_len,
        n_frames=faces.n_frames))
    return dict(name=name, ok=True, cached=False, n_frames=faces.n_frames, fps=faces.fps)


def _write_or_stop(path, write):
    """Write an output file; a failure (disk full, permissions) would hit every video: stop."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as err:
        raise UserError(f"cannot write {path} ({err.strerror or err}); free disk space or "
                        f"choose another --out") from None


def _info(info):
    return dict(n_frames=info["n_frames"], fps=info["fps"])


def _read_failure(path):
    try:
        failure = json.loads(Path(path).read_text())
        return dict(reason=str(failure["reason"]), detail=str(failure.get("detail", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _csv_rows(table, results):
    """Rows that were cached -> CSV table; the others -> dropped entries."""
    ok = table[table.name.map(lambda n: results[n]["ok"])].copy()
    failed = [dict(name=n, reason=results[n]["reason"], detail=results[n]["detail"])
              for n in table.name if not results[n]["ok"]]
    ok["frames"] = ok.name.map(lambda n: results[n]["n_frames"]).astype(int)
    ok["fps"] = ok.name.map(lambda n: round(float(results[n]["fps"]), 4))
    ok["cache_path"] = [cache_relpath(p, f) for p, f in zip(ok.part, ok.file)]
    ok["is_valid"] = ok.is_valid.astype(bool)
    return ok[CSV_COLUMNS].reset_index(drop=True), failed


def _report(csv, dropped, balance_info, settings, options):
    weights_train = balance_info["class_weights"]
    if len(csv):
        weights_train = class_weights(csv[~csv.is_valid].label)
    return dict(counts=split_counts(csv), n_videos=len(csv),
                dropped_counts=dict(sorted(Counter(d["reason"] for d in dropped).items())),
                dropped=sorted(dropped, key=lambda d: d["name"]),
                class_weights=weights_train, class_weights_order=["REAL", "FAKE"],
                balance=balance_info, config=settings, options=options)


def format_summary(report, out_dir):
    c = report["counts"]
    dropped = ", ".join(f"{k} {v}" for k, v in report["dropped_counts"].items()) or "none"
    return (f"prepared {report['n_videos']} videos: train {c['train']['REAL']} REAL / "
            f"{c['train']['FAKE']} FAKE, val {c['val']['REAL']} REAL / {c['val']['FAKE']} FAKE\n"
            f"dropped: {dropped}\n"
            f"wrote {Path(out_dir) / 'videos_df.csv'}, {Path(out_dir) / 'report.json'}, "
            f"{Path(out_dir) / 'faces'}/")
