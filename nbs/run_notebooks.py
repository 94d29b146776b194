"""Execute notebooks headlessly, top to bottom, and fail on the first cell that raises.

    python nbs/run_notebooks.py --all --inplace          # refresh the committed outputs
    python nbs/run_notebooks.py nbs/02_train.ipynb --out /tmp/nbs_run   # executed copy elsewhere

Each notebook runs in the python3 kernel of the Python that runs this script (so the project's
venv), with its working directory set to the notebook's own folder, also when the executed copy
is written elsewhere. Carriage-return progress bars (tqdm) are collapsed to their final state, and
no per-cell timing metadata is recorded, so the saved outputs stay small and diff quietly.
--inplace never overwrites a notebook whose run failed; --out also keeps a failed run, for reading.
Exit status: 0 when every notebook ran, 1 when a cell failed.
"""
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NBS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(NBS_DIR))  # notebook2script sits beside this file
from notebook2script import all_notebooks, chosen_notebooks  # noqa: E402
from utils.cli import OneLineParser
KERNEL = "python3"  # jupyter_client starts it with sys.executable: the venv's ipykernel


def collapse_carriage_returns(text):
    """What a terminal would show: on each line only the text after the last carriage return."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in re.split(r"\r?\n", text))


def tidy_outputs(nb):
    """Join consecutive stream outputs of a cell (a progress bar sends one per update), collapse
    their carriage returns, and drop the ones left blank."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if out.get("output_type") == "stream" and last and last.get("output_type") == "stream" \
                    and last["name"] == out["name"]:
                last["text"] += out["text"]
            else:
                merged.append(out)
        for out in merged:
            if out.get("output_type") == "stream":
                out["text"] = collapse_carriage_returns(out["text"])
        if "outputs" in cell:  # a bar that cleared itself (leave=False) leaves a blank output
            cell["outputs"] = [o for o in merged if o.get("output_type") != "stream" or o["text"].strip()]


def execute_notebook(path, out_path=None, timeout=900):
    """Run one notebook; write it to out_path (or in place when None). Returns seconds taken.

    Raises nbclient's CellExecutionError (with the failing cell's traceback) when a cell fails.
    """
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError:
        if out_path is not None:
            _write(nb, out_path)
        raise
    tidy_outputs(nb)
    _write(nb, out_path or path)
    return time.perf_counter() - start


def _write(nb, target):
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def build_parser():
    p = OneLineParser(prog="run_notebooks.py", description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", help="notebooks to execute")
    p.add_argument("--all", action="store_true", help="every notebook in nbs/")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--inplace", action="store_true", help="save the outputs into the notebooks themselves")
    where.add_argument("--out", help="folder for the executed copies (the originals are left alone)")
    p.add_argument("--timeout", type=int, default=900, help="seconds one cell may take (default 900)")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    for path in chosen_notebooks(parser, args):
        if not path.is_file():
            parser.error(f"{path} does not exist")
        out = None if args.inplace else Path(args.out) / path.name
        try:
            seconds = execute_notebook(path, out, args.timeout)
        except CellExecutionError as err:
            print(f"{path.name}: FAILED\n{err}", file=sys.stderr)
            return 1
        print(f"{path.name}: ran in {seconds:.0f} s -> {out or path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
