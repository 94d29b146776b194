"""bench_train --encoders runs without the data pipeline and prints one row per encoder (no timing checks)."""
from benchmarks import bench_train


def test_encoder_table_has_a_row_per_encoder(capsys):
    rows = bench_train.main(["--encoders", "--quick", "--device", "cpu", "--encoder_list", "timm/resnet10t,resnet18"])
    assert [r["encoder"] for r in rows] == ["timm/resnet10t", "resnet18"]
    assert rows[0]["native px"] == "176" and rows[1]["native px"] == "224"
    assert 1.0 < rows[1]["GFLOPs/frame"] < 5.0  # resnet18 at 224: 1.8 GMACs, 3.6 GFLOPs
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bench_train --encoders:") and out[1].split()[:3] == ["encoder", "params", "M"]
    assert len(out) == 3 + 2
