"""Pretrained backbones from files on disk: a ResNet-18 state dict in torchvision's layout (fine-tuned) and any
ONNX feature extractor (frozen, a head on its features), written by the tests themselves; refused in one line
when they are not what they claim to be, before anything is written."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
import torch
from cli_code import one_line_error
from onnx import TensorProto, helper

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.train.backbone import OnnxFeatures, ResNet18
from affcurate.train.predict import predict
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace


def with_frame_maps(ws: Workspace, real: Workspace) -> Workspace:
    """The frame maps `affcurate predict` writes its tables on."""
    for vid in real.video_ids():
        if real.frames_path(vid).exists():
            ws.frames_path(vid).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(real.frames_path(vid), ws.frames_path(vid))
    return ws


@pytest.fixture
def ws64(small_ws: Workspace) -> Workspace:
    """The small learnable workspace with 64-px inputs (what a ResNet-18 needs)."""
    small_ws.save_settings(small_ws.settings.replace("train", input_size=64))
    return Workspace.open(small_ws.root)


@pytest.fixture
def resnet_file(tmp_path: Path) -> Path:
    torch.manual_seed(1)
    path = tmp_path / "models" / "resnet18.pt"
    path.parent.mkdir()
    torch.save(ResNet18().state_dict(), path)
    return path


class MeanColour(torch.nn.Module):
    """A tiny feature extractor: each channel's mean, scaled."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) * 4.0 - 2.0


def export_onnx(path: Path, size: int | None = None, batch: bool = True) -> Path:
    """An ONNX model exported from :class:`MeanColour` (input N×3×H×W float, dynamic size unless ``size``,
    dynamic batch unless not ``batch``), or built with the onnx helper API where this torch cannot export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 3, size or 112, size or 112)
    axes = {"x": ({0: "n"} if batch else {}) | ({} if size else {2: "h", 3: "w"})}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(MeanColour(), (x,), str(path), input_names=["x"], output_names=["f"],
                              dynamic_axes=axes, dynamo=False)
    except Exception:  # an exporter this torch lacks: the same graph by hand
        const = [helper.make_node("Constant", [], [k], value=helper.make_tensor(k, TensorProto.FLOAT, [], [v]))
                 for k, v in (("four", 4.0), ("two", 2.0))]
        nodes = [*const, helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
                 helper.make_node("Mul", ["m", "four"], ["s"]), helper.make_node("Sub", ["s", "two"], ["f"])]
        graph = helper.make_graph(nodes, "mean", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [
                                      "n" if batch else 1, 3, size or "h", size or "w"])],
                                  [helper.make_tensor_value_info("f", TensorProto.FLOAT, ["n" if batch else 1, 3])])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_our_resnet18_has_torchvisions_key_layout() -> None:
    state = ResNet18().state_dict()
    # torchvision's resnet18: 122 entries (62 parameters, 60 BatchNorm buffers), 11,689,512 parameters
    assert len(state) == 122
    assert sum(p.numel() for p in ResNet18().parameters()) == 11_689_512
    shapes = {"conv1.weight": (64, 3, 7, 7), "bn1.running_mean": (64,), "layer1.0.conv1.weight": (64, 64, 3, 3),
              "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.running_var": (128,),
              "layer4.1.bn2.num_batches_tracked": (), "fc.weight": (1000, 512), "fc.bias": (1000,)}
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert "layer1.0.downsample.0.weight" not in state  # the first stage keeps its width: no projection


def test_a_resnet18_state_dict_on_disk_is_fine_tuned_recorded_and_pre_labels(
        ws64: Workspace, resnet_file: Path, real_faces: Workspace) -> None:
    r = train_baseline(ws64, models=["prior", "cnn"], tasks=["au", "expr", "va"], epochs=2, seed=0, name="res",
                       backbone=f"resnet18:{resnet_file}", on_note=lambda _: None)
    config = io.read_json(r.run_dir / "config.json")
    assert config["backbone"] == f"resnet18:{resnet_file.resolve()}" and len(config["backbone_sha256"]) == 16
    model = r.metrics["cnn"]["model"]
    assert model["backbone"]["kind"] == "resnet18" and model["parameters"] > 11_000_000
    # started from the file's weights: after two epochs at a tenth of the learning rate they are still close
    start = torch.load(resnet_file, weights_only=True)["layer3.0.conv1.weight"].flatten()
    best = torch.load(r.run_dir / "cnn" / "best.pt", weights_only=True)["features.layer3.0.conv1.weight"].flatten()
    assert not torch.equal(start, best) and torch.corrcoef(torch.stack([start, best]))[0, 1] > 0.95
    assert "fc.weight" not in torch.load(r.run_dir / "cnn" / "best.pt", weights_only=True)  # the heads replace it
    card = (r.run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"start from the pretrained resnet18 backbone `{resnet_file.resolve()}`" in card and "fine-tuned" in card
    # the run pre-labels from its own checkpoint: the state dict file is no longer needed
    resnet_file.unlink()
    out = predict(with_frame_maps(ws64, real_faces), "res", "cnn", videos=["single_face"])
    assert out.written == {"single_face": ["au", "expr", "va"]} and not out.failed


def test_a_state_dict_without_or_with_another_classifier_loads(ws64: Workspace, tmp_path: Path) -> None:
    state = ResNet18().state_dict()
    state.pop("fc.weight"), state.pop("fc.bias")
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}  # older checkpoints lack them
    torch.save(state, tmp_path / "trunk.pt")
    torch.save(ResNet18(num_classes=7).state_dict(), tmp_path / "seven.pt")
    for name in ("trunk.pt", "seven.pt"):
        r = train_baseline(ws64, models=["cnn"], tasks=["au"], epochs=1, name=name.replace(".", "-"),
                           backbone=f"resnet18:{tmp_path / name}", on_note=lambda _: None)
        assert r.metrics["cnn"]["au"]["f1_mean"] is not None


def test_a_state_dict_of_another_layout_is_refused_naming_its_keys_and_nothing_is_written(
        ws64: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    state = ResNet18().state_dict()
    state.pop("layer1.0.conv1.weight")
    state["head.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "other.pt")
    err = one_line_error(capsys, "train-baseline", str(ws64.root), "--models", "cnn", "--backbone",
                         f"resnet18:{tmp_path / 'other.pt'}")
    assert err.endswith("other.pt: not a ResNet-18 state dict in torchvision's key layout: missing keys: "
                        "layer1.0.conv1.weight; unexpected keys: head.weight"), err
    wrapped = {f"module.{k}": v for k, v in ResNet18().state_dict().items()}
    torch.save(wrapped, tmp_path / "wrapped.pt")
    err = one_line_error(capsys, "train-baseline", str(ws64.root), "--models", "cnn", "--backbone",
                         f"resnet18:{tmp_path / 'wrapped.pt'}")
    assert "unexpected keys: module.conv1.weight" in err and "save model.module.state_dict()" in err
    bad = ResNet18().state_dict()
    bad["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    torch.save(bad, tmp_path / "gray.pt")
    err = one_line_error(capsys, "train-baseline", str(ws64.root), "--models", "cnn", "--backbone",
                         f"resnet18:{tmp_path / 'gray.pt'}")
    assert err.endswith("gray.pt: conv1.weight has shape (64, 1, 7, 7), ResNet-18 has (64, 3, 7, 7)"), err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    err = one_line_error(capsys, "train-baseline", str(ws64.root), "--models", "cnn", "--backbone",
                         f"resnet18:{tmp_path / 'junk.pt'}")
    assert "junk.pt: not a torch state dict" in err
    torch.save({"model": ResNet18().state_dict()}, tmp_path / "nested.pt")
    err = one_line_error(capsys, "train-baseline", str(ws64.root), "--models", "cnn", "--backbone",
                         f"resnet18:{tmp_path / 'nested.pt'}")
    assert "nested.pt: not a state dict" in err
    assert not ws64.runs_dir.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--backbone", "vgg16:x.pt"], "--backbone: expected resnet18:FILE or onnx:FILE, got 'vgg16:x.pt'"),
    (["--backbone", "resnet18"], "--backbone: expected resnet18:FILE or onnx:FILE, got 'resnet18'"),
    (["--backbone", "onnx:nowhere.onnx"], "nowhere.onnx: no such file (--backbone onnx:nowhere.onnx)"),
    (["--models", "prior,linear", "--backbone", "onnx:nowhere.onnx"],
     "--backbone is for the torch baselines (cnn, cnn-gru); --models has none of them (prior, linear)"),
])
def test_a_backbone_that_cannot_be_used_is_one_line(small_ws: Workspace, capsys: pytest.CaptureFixture,
                                                    args: list[str], expected: str) -> None:
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), *args)
    assert err.endswith(expected), err
    assert not small_ws.runs_dir.exists()


def test_a_resnet_on_crops_too_small_for_it_is_refused(small_ws: Workspace, resnet_file: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), "--models", "cnn", "--backbone",
                         f"resnet18:{resnet_file}")
    assert err.endswith("--backbone resnet18 needs crops of at least 64 px: set train.input_size to 64 or more "
                        "(it is 32)"), err


def test_an_onnx_extractor_is_run_frozen_on_the_crops_and_a_head_learns_on_its_features(
        learnable: Callable[..., Workspace], real_faces: Workspace, tmp_path: Path) -> None:
    ws = learnable(tmp_path / "ws", step=2)
    model = export_onnx(tmp_path / "models" / "colour.onnx")
    r = train_baseline(ws, models=["prior", "cnn", "cnn-gru"], tasks=["au", "expr", "va"], epochs=10, seed=0,
                       batch_size=16, lr=1e-2, name="ox", backbone=f"onnx:{model}", on_note=lambda _: None)
    cnn, gru, prior = r.metrics["cnn"], r.metrics["cnn-gru"], r.metrics["prior"]
    # the tint is in the mean colours: a head on them tells the tinted faces of another person apart
    assert cnn["au"]["f1_AU1"] >= 0.9 and cnn["au"]["f1_AU1"] > prior["au"]["f1_AU1"] + 0.2
    assert cnn["expr"]["f1_macro"] > prior["expr"]["f1_macro"] + 0.2
    assert gru["au"]["f1_AU1"] > prior["au"]["f1_AU1"]
    info = cnn["model"]["backbone"]
    assert info["kind"] == "onnx" and info["feature_dim"] == 3 and info["training"].startswith("frozen")
    assert cnn["throughput"]["images_per_s"] > 0  # of the feature pass: each crop once
    folder = r.run_dir / "cnn"
    assert (folder / "backbone.onnx").read_bytes() == model.read_bytes()
    # the features are the model's output on the crops as RGB floats in [0, 1], N×3×H×W
    with h5py.File(ws.crops_path("single_face")) as h5:
        crops = h5["crops"][:5]
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    assert np.allclose(OnnxFeatures(model)(crops), MeanColour()(x).numpy(), atol=1e-5)
    model.unlink()  # the run keeps its own copy: it pre-labels without the original file
    out = predict(with_frame_maps(ws, real_faces), "ox", "cnn", videos=["single_face"])
    assert out.written == {"single_face": ["au", "expr", "va"]}
    table = io.read_parquet(ws.annotation_path("ox-cnn", "va", "single_face"))
    assert table["confidence"].notna().any()  # from the features of the mirrored crops


def test_a_fixed_size_onnx_input_gets_the_crops_resized_and_another_file_is_another_run(
        small_ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = export_onnx(tmp_path / "m" / "fixed.onnx", size=48)
    ext = OnnxFeatures(model)
    assert ext.size == (48, 48) and ext.dim == 3
    crops = np.random.default_rng(0).integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    assert ext(crops).shape == (3, 3)
    one = OnnxFeatures(export_onnx(tmp_path / "m" / "one.onnx", size=48, batch=False))
    assert one.batch == 1 and np.allclose(one(crops), ext(crops), atol=1e-6)  # one crop at a time
    main(["train-baseline", str(small_ws.root), "--models", "cnn", "--tasks", "au", "--epochs", "1", "--name", "fx",
          "--backbone", f"onnx:{model}"])
    assert "run written to" in capsys.readouterr().out
    card = (small_ws.runs_dir / "fx" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "pretrained onnx backbone" in card and "run frozen, a head trained on its features" in card
    export_onnx(model, size=64)  # the same path, other content
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), "--models", "cnn", "--tasks", "au",
                         "--epochs", "1", "--name", "fx", "--backbone", f"onnx:{model}")
    assert "run fx exists with other settings: backbone_sha256" in err


def test_an_onnx_model_that_is_not_an_image_feature_extractor_is_refused(small_ws: Workspace, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    graph = helper.make_graph([helper.make_node("Relu", ["v"], ["y"])], "vec",
                              [helper.make_tensor_value_info("v", TensorProto.FLOAT, ["n", 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "vec.onnx"))
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), "--models", "cnn", "--backbone",
                         f"onnx:{tmp_path / 'vec.onnx'}")
    assert err.endswith("vec.onnx: its input v is tensor(float) ['n', 10]: expected a float or uint8 image batch "
                        "N×3×H×W or N×H×W×3"), err
    graph = helper.make_graph([helper.make_node("ReduceMean", ["x"], ["y"], keepdims=0)], "all",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "all.onnx"))
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), "--models", "cnn", "--backbone",
                         f"onnx:{tmp_path / 'all.onnx'}")
    assert err.endswith("all.onnx: its first output has shape [] for a batch of 1 crops: expected one feature "
                        "vector per crop"), err
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    err = one_line_error(capsys, "train-baseline", str(small_ws.root), "--models", "cnn", "--backbone",
                         f"onnx:{tmp_path / 'junk.onnx'}")
    assert "junk.onnx: not an ONNX model onnxruntime can run" in err
    assert not small_ws.runs_dir.exists()
    with pytest.raises(AffcurateError, match="not an ONNX model"):
        OnnxFeatures(tmp_path / "junk.onnx")
