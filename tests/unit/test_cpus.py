"""usable_cpus: the affinity mask, capped by a cgroup CPU quota (v2 and v1)."""

from __future__ import annotations

from pathlib import Path

from orchestra.supervision._cpus import usable_cpus


def test_no_cgroup_files_means_the_affinity_mask(tmp_path: Path) -> None:
    assert usable_cpus(tmp_path, affinity=8) == 8
    assert usable_cpus(tmp_path) >= 1  # this machine's own mask


def test_cgroup_v2_quota_caps_and_rounds_up(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cpus(tmp_path, affinity=8) == 2
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert usable_cpus(tmp_path, affinity=8) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(tmp_path, affinity=8) == 8
    (tmp_path / "cpu.max").write_text("800000 100000\n")
    assert usable_cpus(tmp_path, affinity=2) == 2  # the mask is the smaller


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    v1 = tmp_path / "cpu,cpuacct"
    v1.mkdir()
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu.cfs_quota_us").write_text("300000\n")
    assert usable_cpus(tmp_path, affinity=8) == 3
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert usable_cpus(tmp_path, affinity=8) == 8
