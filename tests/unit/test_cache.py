import json
import multiprocessing as mp

import torch

from zeroshift.core.vectors import Cache, VectorBank


def test_rows_round_trip_and_failures(tmp_path):
    bank = VectorBank(tmp_path / "b", {"who": "test"})
    bank.put(["k1", "k2"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]), {"bad": "truncated"})
    again = VectorBank(tmp_path / "b", {"who": "test"})  # a new process would see the same
    assert again.get(["k2", "k1"]).tolist() == [[3.0, 4.0], [1.0, 2.0]]
    assert again.failures == {"bad": "truncated"}
    assert again.missing(["k1", "bad", "k3"]) == ["k3"]
    sidecar = json.loads(next((tmp_path / "b").glob("*.json")).read_text())
    assert sidecar["producer"] == {"who": "test"} and sidecar["keys"] == ["k1", "k2"]


def test_tampered_or_half_written_chunks_are_never_trusted(tmp_path):
    bank = VectorBank(tmp_path / "b", {})
    bank.put(["a"], torch.ones(1, 3))
    bank.put(["b"], torch.zeros(1, 3))
    chunks = sorted((tmp_path / "b").glob("*.safetensors"))
    data = bytearray(chunks[0].read_bytes())
    data[-1] ^= 0xFF  # flip a byte of the tensor payload
    chunks[0].write_bytes(bytes(data))
    (tmp_path / "b" / ".chunk-x.safetensors.123.tmp").write_bytes(b"partial")  # an interrupted write
    (tmp_path / "b" / "chunk-orphan.safetensors").write_bytes(b"no sidecar")  # crashed before the sidecar
    fresh = VectorBank(tmp_path / "b", {})
    assert len(fresh) == 1  # only the intact chunk survives; the tampered one is discarded
    assert not chunks[0].exists()


def _writer(folder, start):
    bank = VectorBank(folder, {})
    for i in range(start, start + 5):
        bank.put([f"k{i}"], torch.full((1, 2), float(i)))


def test_concurrent_writers_lose_nothing(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path / "b", s)) for s in (0, 5, 10)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    bank = VectorBank(tmp_path / "b", {})
    assert len(bank) == 15
    assert bank.get([f"k{i}" for i in range(15)])[:, 0].tolist() == [float(i) for i in range(15)]


def test_cache_info_and_clear(tmp_path):
    cache = Cache(tmp_path)
    cache.bank("features", "fp1", {}).put(["a"], torch.ones(1, 4))
    cache.bank("heads", "fp2", {}).put(["b"], torch.ones(1, 4))
    info = cache.info()
    assert info["features"]["banks"] == 1 and info["features"]["chunks"] == 1 and info["heads"]["bytes"] > 0
    assert cache.clear("features") == 1
    assert cache.info()["features"]["banks"] == 0 and cache.info()["heads"]["banks"] == 1
