"""Any supported layout -> leak-free videos CSV + face cache + report (resumable, shardable).

Output (out_dir):
  faces/<part>/<stem>.npz       one face cache per video (datasets/face_cache.py)
  faces/<part>/<stem>.fail.json a video that failed for good (reason); delete it to retry
  videos_df.csv, report.json    written by a run without --shard
  prepare_config.json           the face settings (FaceConfig), the one place they are written;
                                a rerun with others is refused

The CSV: the seed's name,label,is_valid, then original, group, part, frames, fps, cache_path,
fake_kind, source_path, and split (train/val/test), dataset, method, compression. is_valid is
split == "val"; test rows have is_valid False and split "test", and training must skip them.

A bad item (a video, a metadata entry, a manifest row) is dropped, counted and listed in
report.json (dropped, dropped_counts); a problem with the whole input, the flags or the machine
is a UserError, and so is a run that ends with no usable video (report.json is still written).

Resume: a video whose .npz loads (or that has a .fail.json) is skipped, so rerunning the same
command after a crash only does the rest. Writes are atomic, so a killed run leaves at most a
hidden temp file, which is never read and is removed by the next run without --shard.

Shards: `--shard i/n` extracts faces of the videos whose index (in name order, after balancing)
is i mod n, and writes nothing else. Balance and split are deterministic from the inputs and
the seed, so every shard agrees on the list. When all shards are done, the same command without
--shard finds every video cached and writes the CSV and the report (it also does any video a
shard missed).
"""
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, fields
from pathlib import Path

from tqdm import tqdm

from datasets import face_cache
from args import FACE_DETECTORS, FACE_SETTINGS_BEFORE, FaceConfig, PrepareConfig
from datasets.preparation.faces import extract_faces
from datasets.preparation.ffpp import check_pairs
from datasets.preparation.stream import cores_shared_by
from datasets.preparation.layouts import drawn_test_fractions, read_inputs
from datasets.splits import balance_videos, class_weights, split_counts, split_videos
from utils.atomic import remove_temp_files, write_text_atomic
from utils.device import resolve_device
from utils.errors import SampleError, UserError

CSV_COLUMNS = ["name", "label", "is_valid", "original", "group", "part", "frames", "fps",
               "cache_path", "fake_kind", "source_path", "split", "dataset", "method", "compression"]
DETECTORS = FACE_DETECTORS


def make_configs(**options):
    """Keyword options (FaceConfig and PrepareConfig fields) -> (FaceConfig, PrepareConfig).

    Both validate on construction (one-line UserError); an unknown option is a TypeError."""
    face_names = {f.name for f in fields(FaceConfig)}
    prep = {k: v for k, v in options.items() if k not in face_names}
    if isinstance(prep.get("shard"), (tuple, list)):
        prep["shard"] = "/".join(map(str, prep["shard"]))
    for key in ("val_parts", "methods"):
        if prep.get(key) is not None:
            prep[key] = tuple(prep[key])
    return (FaceConfig(**{k: v for k, v in options.items() if k in face_names}),
            PrepareConfig(**prep))


def prepare_dataset(inputs, out_dir, *, verbose=True, **options):
    """Prepare `inputs` (see the module doc) with FaceConfig/PrepareConfig fields as keywords ->
    report dict (also written to report.json)."""
    face, prep = make_configs(**options)
    return run_prepare(inputs, out_dir, face, prep, verbose=verbose)


def run_prepare(inputs, out_dir, face, prep, verbose=True):
    """prepare_dataset with the two config dataclasses."""
    shard = parse_shard(prep.shard)
    device = str(resolve_device(prep.device or "auto"))  # a bad device is one line, before any work
    settings = asdict(face)
    out_dir = Path(out_dir)
    table, dropped, layouts = read_inputs(inputs, prep.format, prep.compression, prep.methods)
    if table.empty:
        first = f" (first: {dropped[0]['name']}: {dropped[0]['reason']})" if dropped else ""
        raise UserError(f"none of the {len(dropped)} videos listed in {', '.join(map(str, inputs))} "
                        f"can be used{first}; check the inputs")
    _claim_out_dir(out_dir, settings)
    table, balance_info = balance_videos(table, prep.balance, prep.seed)
    table = split_videos(table, prep.split_by, prep.val_fraction, prep.val_parts, prep.seed,
                         drawn_test_fractions(table, prep.test_fraction))
    check_pairs(table)  # FF++: no pair crosses the split (split_videos checked the groups)

    if shard[1] == 1:
        remove_temp_files(out_dir / "faces", recursive=True)  # only when no shard may be running
    tasks = [_task(row, out_dir, settings, device) for i, row in enumerate(table.itertuples())
             if i % shard[1] == shard[0]]
    results = _run_tasks(tasks, prep.workers, verbose, desc=_bar_name(shard))

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
    options = dict(asdict(prep), inputs=[str(p) for p in inputs], layouts=layouts)
    report = _report(csv, dropped + failed, balance_info, options)
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2))
    if csv.empty:  # the caches stay for a rerun; an empty CSV would only fail later, in training
        raise UserError(f"prepared 0 videos: every one was dropped ({_counts_text(report['dropped_counts'])}); "
                        f"see {out_dir / 'report.json'}")
    write_text_atomic(out_dir / "videos_df.csv", csv.to_csv(index=False))
    if verbose:
        print(format_summary(report, out_dir))
    return report


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
            old = dict(FACE_SETTINGS_BEFORE, **json.loads(config.read_text()))
            if old != settings:
                changed = ", ".join(f"{k}={old.get(k)}->{v}" for k, v in settings.items()
                                    if old.get(k) != v)
                raise UserError(f"{out_dir} holds faces prepared with other settings ({changed}); "
                                f"use another --out or the same settings")
        else:
            write_text_atomic(config, json.dumps(settings, indent=2))
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot use output folder {out_dir} ({err}); choose a writable --out") from None


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
                              task["face_detector"], task["device"],
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


def _report(csv, dropped, balance_info, options):
    weights_train = balance_info["class_weights"]
    if len(csv):
        weights_train = class_weights(csv[csv.split == "train"].label)
    by = {}
    for key in ("dataset", "method"):
        by[key] = {str(k): int(v) for k, v in csv.groupby(key).size().items()} if len(csv) else {}
    return dict(counts=split_counts(csv), n_videos=len(csv),
                dropped_counts=dict(sorted(Counter(d["reason"] for d in dropped).items())),
                dropped=sorted(dropped, key=lambda d: (d["name"], d["reason"], d["detail"])),
                class_weights=weights_train, class_weights_order=["REAL", "FAKE"],
                videos_by_dataset=by["dataset"], videos_by_method=by["method"],
                balance=balance_info, options=options)


def _counts_text(counts):
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def format_summary(report, out_dir):
    c = report["counts"]
    sides = ", ".join(f"{side} {c[side]['REAL']} REAL / {c[side]['FAKE']} FAKE" for side in c
                      if side != "test" or sum(c[side].values()))
    return (f"prepared {report['n_videos']} videos: {sides}\n"
            f"dropped: {_counts_text(report['dropped_counts'])}\n"
            f"wrote {Path(out_dir) / 'videos_df.csv'}, {Path(out_dir) / 'report.json'}, "
            f"{Path(out_dir) / 'faces'}/")
