"""Every notebook in nbs/ runs top to bottom headlessly (to a temporary copy); a failing cell fails.

The notebooks build their small demo set in data/nb_demo once (about a minute) and run a short
training: the whole file takes a few minutes on a 2-core CPU.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
RUNNER = NBS / "run_notebooks.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = load_runner()


@pytest.mark.parametrize("name", [p.name for p in runner.all_notebooks(NBS)])
def test_notebook_runs_top_to_bottom(name, tmp_path):
    source = NBS / name
    before = source.read_bytes()
    runner.execute_notebook(source, tmp_path / name)  # raises CellExecutionError, with the traceback
    executed = nbformat.read(tmp_path / name, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert source.read_bytes() == before  # the committed notebook is left alone


def test_notebooks_are_committed_with_outputs():
    for path in runner.all_notebooks(NBS):
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{path.name}: run python nbs/run_notebooks.py --all --inplace"
        images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name} shows no figure"


def write_notebook(path, sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def test_runner_uses_this_python_and_the_notebook_folder(tmp_path):
    nb = write_notebook(tmp_path / "probe.ipynb", [
        "import sys, json, pathlib\nprint(json.dumps([sys.executable, str(pathlib.Path.cwd())]))"])
    runner.execute_notebook(nb, tmp_path / "out" / "probe.ipynb")
    out = nbformat.read(tmp_path / "out" / "probe.ipynb", as_version=4).cells[0].outputs[0]["text"]
    executable, cwd = json.loads(out)
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(cwd).resolve() == tmp_path.resolve()  # the source's folder, not the copy's


def test_failing_cell_fails_the_run_and_inplace_keeps_the_notebook(tmp_path):
    nb = write_notebook(tmp_path / "broken.ipynb", ["x = 1", "1 / 0", "print('never')"])
    before = nb.read_bytes()
    result = subprocess.run([sys.executable, str(RUNNER), str(nb), "--inplace"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "broken.ipynb: FAILED" in result.stderr and "ZeroDivisionError" in result.stderr
    assert nb.read_bytes() == before


def test_progress_bars_are_collapsed_to_their_last_state():
    assert runner.collapse_carriage_returns("\r 10%\r 50%\r100%\ndone\n") == "100%\ndone\n"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text=t) for t in ("\r 1/3", "\r 3/3", "\n")] + \
        [nbformat.v4.new_output("stream", name="stdout", text="result\n"),
         nbformat.v4.new_output("stream", name="stderr", text="\r 0%\r      \r")]
    runner.tidy_outputs(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stderr", " 3/3\n"), ("stdout", "result\n")]
