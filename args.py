"""Every setting of train.py and prepare.py: its default, its choices and its help, each written once.

The settings are frozen dataclasses, one per concern:
  DataConfig, ModelConfig, TrainConfig, RunConfig   train.py (together: Config)
  FaceConfig                                        how prepare.py cut the faces (pinned per folder)
  PrepareConfig                                     prepare.py's other options
Edit a default here to change what a bare `python train.py` does. The flags are built from the
fields; `--config FILE.yaml` sets any of them and flags on the command line override the file.
Library code takes these dataclasses, never an argparse Namespace; checkpoints store them as plain
dicts (dataclasses.asdict), and constructing one validates it, so a bad value in a flag, a YAML
file or a checkpoint gets the same one-line message.

The defaults train the embedded demo in a few minutes on a 2-core CPU; configs/real.yaml is the
recipe for real data. The original launch command
(`--model_name resnet152 --crop_size 224 --pretrained True ...`) still parses as written.
"""
import argparse
import difflib
import sys
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Optional

from utils.cli import OneLineParser, str2bool
from utils.errors import UserError

PROJECT_DIR = Path(__file__).resolve().parent
DEMO_ROOT = PROJECT_DIR / "data" / "demo"

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
TIMM_PREFIX = "timm/"  # --model_name timm/<name>: any timm image model as the frame encoder
TEMPORALS = ("lstm", "gru", "mean")
POOLINGS = ("last", "mean")
INPUT_MODES = ("rgb", "diff", "both")
FUSIONS = ("two_stream", "early")
SCHEDULERS = ("none", "cosine", "step")
AMP_MODES = ("auto", "none", "bf16", "fp16")
CLASS_WEIGHTS = ("auto", "none")
# metric -> True when larger is better; the best checkpoint is chosen on validation only
EVAL_METRICS = {"val_log_loss": False, "val_loss": False, "val_auc": True, "val_acc": True, "val_balanced_acc": True}
FACE_DETECTORS = ("mtcnn", "none")
BALANCES = ("all", "pair")
SPLIT_BY = ("original", "part")


def setting(default, help, choices=None, check=None, default_factory=None):
    """A dataclass field with its help text, its choices and a check(value) -> problem or None."""
    meta = dict(help=help, choices=choices, check=check)
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def at_least(low):
    return lambda v: None if v >= low else f"must be at least {low}"


def in_range(low, high, high_open=True):
    def check(v):
        ok = low <= v < high if high_open else low <= v <= high
        return None if ok else f"must be in [{low}, {high}{')' if high_open else ']'}"
    return check


def positive(v):
    return None if v > 0 else "must be positive"


def model_name_check(name):
    if name in RESNETS or (name.startswith(TIMM_PREFIX) and len(name) > len(TIMM_PREFIX)):
        return None
    return f"must be one of {', '.join(RESNETS)} or timm/<model>"


class Settings:
    """Validation shared by every config dataclass: choices and checks at construction."""

    def __post_init__(self):
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if value is None:
                continue
            if meta.get("choices") and value not in meta["choices"]:
                raise UserError(f"--{f.name} {value!r} is not one of {', '.join(map(str, meta['choices']))}")
            problem = meta["check"](value) if meta.get("check") else None
            if problem:
                raise UserError(f"--{f.name} {problem}, got {value!r}")
        self.cross_check()

    def cross_check(self):
        pass

    @classmethod
    def from_dict(cls, values, where="config"):
        """Build from a plain dict (a checkpoint's, a YAML file's); unknown keys are refused."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(f"{where}: unknown setting {unknown[0]!r} for {cls.__name__}")
        return cls(**values)


@dataclass(frozen=True)
class DataConfig(Settings):
    dataset: str = setting("video", "dataset builder from the dataset selector (datasets/__init__.py)")
    root_dir: str = setting(str(DEMO_ROOT), "data root: holds the videos CSV and the face cache (or JPEG folders, or mp4 "
                            "files) that the CSV names. The default is the demo, built on first use")
    csv_file: str = setting("videos_df", "videos CSV inside --root_dir (name,label,is_valid,...); '.csv' may be left off")
    num_frames: int = setting(2, "frames per clip, consecutive in the video (the original hard-coded 30)", check=at_least(1))
    crop_size: int = setting(64, "side of the square crop fed to the model, in pixels", check=at_least(16))
    batch_size: int = setting(32, "clips per batch (per process under torchrun)", check=at_least(1))
    clips_per_video: int = setting(1, "training clips drawn from each video per epoch, each from a random window: "
                                   "more optimiser steps per epoch on small data", check=at_least(1))
    workers: int = setting(2, "DataLoader worker processes (0 loads in the main process)", check=at_least(0))
    augment: bool = setting(False, "clip-consistent augmentation in training (crop, flip, rotation, colour, JPEG, "
                            "downscale); off for the short demo run, on in configs/real.yaml")
    max_bad_fraction: float = setting(0.1, "stop the run when more than this share of an epoch's samples are unusable",
                                      check=in_range(0, 1, high_open=False))
    demo_seed: int = setting(0, "seed of the generated demo dataset", check=at_least(0))


@dataclass(frozen=True)
class ModelConfig(Settings):
    model_name: str = setting("resnet18", f"frame encoder: a torchvision ResNet ({', '.join(RESNETS)}; --pretrained "
                              "loads IMAGENET1K_V1 for resnet18/34 and the better IMAGENET1K_V2 for resnet50 and up), "
                              "or timm/<name> for any timm image model (e.g. timm/efficientnet_b4, timm/legacy_xception, "
                              "timm/convnext_tiny, timm/vit_base_patch16_clip_224.openai; a '.tag' picks timm's weights), "
                              "normalised with the mean/std of its own pretrained config", check=model_name_check)
    pretrained: bool = setting(False, "start the encoder from its pretrained weights, loaded by its library (torchvision "
                               "weights=, timm pretrained=True): from the cache ($TORCH_HOME/hub/checkpoints, or the "
                               "Hugging Face cache for timm), else downloaded into it; offline with no cached file it "
                               "stops within seconds, naming the file, the folder and --backbone_weights")
    backbone_weights: Optional[str] = setting(None, "start the encoder from this local file instead (air-gapped machines; "
                                              "implies --pretrained, nothing is downloaded): the library's state_dict "
                                              "(.pth/.bin/.safetensors) or a checkpoint of this tool")
    freeze_backbone: bool = setting(False, "train only the projection, RNN and head; the frozen backbone stays in eval mode")
    train_norm_only: bool = setting(False, "in the encoder, train only the norm layers' affine parameters (LayerNorm, "
                                    "BatchNorm, GroupNorm), plus projection, RNN and head (GenD's recipe for CLIP "
                                    "ViTs); BatchNorm statistics stay frozen (eval mode)")
    encoder_init: Optional[str] = setting(None, "initialise the backbone and projection from a checkpoint (two-stage "
                                          "recipe: a --temporal mean frame model first)")
    input_mode: str = setting("both", "what the backbone sees: RGB frames, differences of consecutive frames, or both",
                              choices=INPUT_MODES)
    fusion: str = setting("two_stream", "how --input_mode both combines RGB and differences: two encoders, or one with "
                          "a 6-channel first conv", choices=FUSIONS)
    embed_dim: int = setting(128, "size of the per-frame embedding fed to the RNN", check=at_least(1))
    dropout: float = setting(0.3, "dropout after the per-frame projection (and between stacked RNN layers)",
                             check=in_range(0, 1))
    temporal: str = setting("gru", "temporal model: an LSTM or GRU, or 'mean' = per-frame logits averaged (frame "
                            "baseline)", choices=TEMPORALS)
    hidden_size: int = setting(128, "RNN hidden size", check=at_least(1))
    num_layers: int = setting(1, "stacked RNN layers", check=at_least(1))
    bidirectional: bool = setting(False, "bidirectional RNN")
    pooling: str = setting("mean", "pooling of the RNN outputs over time", choices=POOLINGS)
    num_classes: int = setting(2, "output classes; real/fake detection needs 2",
                               check=lambda v: None if v == 2 else "must be 2 (real, fake)")

    def cross_check(self):
        if self.freeze_backbone and self.train_norm_only:
            raise UserError("--freeze_backbone and --train_norm_only exclude each other: "
                            "--train_norm_only already freezes all but the encoder's norm layers")


@dataclass(frozen=True)
class TrainConfig(Settings):
    lr: float = setting(1e-3, "AdamW learning rate", check=positive)
    weight_decay: float = setting(1e-4, "AdamW weight decay (0 = the original's Adam)", check=at_least(0))
    epochs: int = setting(20, "epochs to train", check=at_least(1))
    scheduler: str = setting("cosine", "learning-rate schedule, updated every optimiser step", choices=SCHEDULERS)
    warmup_epochs: float = setting(0.0, "linear learning-rate warmup, in epochs (fractions allowed)", check=at_least(0))
    step_size: int = setting(10, "epochs between decays for --scheduler step", check=at_least(1))
    gamma: float = setting(0.1, "decay factor for --scheduler step", check=positive)
    class_weights: str = setting("auto", "auto: weight the loss by inverse class frequency of the training rows",
                                 choices=CLASS_WEIGHTS)
    amp: str = setting("auto", "mixed precision: auto = bf16 where the GPU or CPU has it in hardware "
                       "(AVX512-BF16/AMX), else none; bf16 works on CPU and GPU; fp16 needs a GPU and uses a GradScaler",
                       choices=AMP_MODES)
    grad_clip: float = setting(0.0, "clip the gradient norm to this value (0: no clipping)", check=at_least(0))
    ema_decay: float = setting(0.0, "keep an exponential moving average of the weights with this decay per step "
                               "(e.g. 0.999; 0: off); each epoch the average is validated too and saved when better",
                               check=in_range(0, 1))
    channels_last: bool = setting(False, "channels-last memory format (faster convs on GPUs)")
    compile: bool = setting(False, "torch.compile the model")
    eval_metric: str = setting("val_log_loss", "validation metric that picks best.pth (on validation videos only)",
                               choices=tuple(EVAL_METRICS))
    keep_epochs: int = setting(2, "epoch_N.pth files kept (the most recent); 0 keeps them all. last.pth and "
                               "best.pth are always kept", check=at_least(0))


@dataclass(frozen=True)
class RunConfig(Settings):
    seed: int = setting(0, "seed of everything random; the same seed on the CPU repeats a run exactly", check=at_least(0))
    device: str = setting("auto", "auto (GPU when present), cpu, cuda or cuda:N",
                          check=lambda v: None if v in ("auto", "cpu", "cuda") or v.startswith("cuda:")
                          else "must be auto, cpu, cuda or cuda:N")
    resume: Optional[str] = setting(None, "continue a run from its last.pth; the checkpoint decides the model and "
                                    "data settings")
    run_name: Optional[str] = setting(None, "folder name under --save_model_path (default: model, temporal model, "
                                      "input and a timestamp)")
    save_model_path: str = setting(str(PROJECT_DIR / "checkpoints"), "where run folders are written")
    log_interval: int = setting(10, "batches between training log lines", check=at_least(1))
    tensorboard: bool = setting(True, "write TensorBoard event files into the run folder (tensorboard --logdir "
                                "checkpoints/): losses, metrics, learning rate, speed, curves and a few validation clips")
    config: Optional[str] = setting(None, "a YAML file of settings (flag names as keys, flat or under data/model/"
                                    "train/run); flags given on the command line override it")


@dataclass(frozen=True)
class Config:
    """Everything train.py runs with; Config.from_dict(asdict(cfg)) round-trips."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self):
        if self.model.input_mode == "diff" and self.model.temporal == "mean" and self.data.num_frames < 2:
            raise UserError("--input_mode diff needs --num_frames of at least 2")

    @classmethod
    def from_dict(cls, values, where="config"):
        return cls(**{name: SECTIONS[name].from_dict(values.get(name, {}), where) for name in SECTIONS})

    def to_dict(self):
        return asdict(self)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "run": RunConfig}
GROUP_TITLES = {"data": "data", "model": "model", "train": "optimisation", "run": "run"}


@dataclass(frozen=True)
class FaceConfig(Settings):
    """How faces are cut from a video: prepare.py pins these per output folder (prepare_config.json),
    checkpoints carry them, and predict.py cuts new videos the same way."""
    n_windows: int = setting(4, "windows of consecutive frames per video", check=at_least(1))
    window_len: int = setting(8, "consecutive frames per window", check=at_least(1))
    size: int = setting(224, "side of the stored square face crops (px)", check=at_least(8))
    face_detector: str = setting("mtcnn", "none keeps the whole frame (for face-centred data)", choices=FACE_DETECTORS)
    center_fraction: float = setting(1.0, "with --face_detector none: keep the centred square of this fraction of the "
                                     "frame's longer side (1 = the whole frame)",
                                     check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]")
    min_frames: int = setting(1, "drop videos with fewer decodable frames (shorter ones repeat frames)", check=at_least(1))
    detect_every: int = setting(4, "run the face detector on every n-th frame of a window; the boxes are smoothed per "
                                "window (folders prepared before this setting existed used 2)", check=at_least(1))

    def cross_check(self):
        if self.center_fraction != 1 and self.face_detector != "none":
            raise UserError("--center_fraction crops whole frames; it needs --face_detector none")


PREPARE_FORMATS = ("ffpp", "celebdf", "dfdc_test", "dfdc", "manifest")  # datasets/preparation/layouts.py
FFPP_COMPRESSIONS = ("raw", "c23", "c40")
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")


def shard_check(text):
    try:
        index, count = (int(v) for v in str(text).split("/"))
    except ValueError:
        return "must be i/n, e.g. 0/4"
    return None if 0 <= index < count else "must be i/n with 0 <= i < n, e.g. 0/4"


# What folders prepared before a face setting existed used (their prepare_config.json lacks it).
FACE_SETTINGS_BEFORE = dict(center_fraction=1.0, detect_every=2)


@dataclass(frozen=True)
class PrepareConfig(Settings):
    format: Optional[str] = setting(None, "the inputs' layout (default: recognised from each input)",
                                    choices=PREPARE_FORMATS)
    balance: str = setting("all", "all: every video, the loss weighted by class; pair: each REAL with one of its FAKEs",
                           choices=BALANCES)
    split_by: str = setting("original", "what validation is split by: leak-free groups, or part folders", choices=SPLIT_BY)
    val_fraction: float = setting(0.2, "share of groups for validation (among those without an official split)",
                                  check=in_range(0, 1))
    test_fraction: Optional[float] = setting(None, "share of groups held out as test, for data without an official "
                                             "test split (default: 0.2; 0 for DFDC training parts, whose test is "
                                             "DFDC's public test set)", check=in_range(0, 1))
    val_parts: Optional[tuple] = setting(None, "part folders for validation (with --split_by part)")
    compression: str = setting("c23", "FaceForensics++: which compression to read", choices=FFPP_COMPRESSIONS)
    methods: Optional[tuple] = setting(None, "FaceForensics++: the manipulations to read (default: every one present)",
                                       check=lambda v: next((f"has {m!r}, not one of {', '.join(FFPP_METHODS)}"
                                                             for m in v if m not in FFPP_METHODS), None))
    seed: int = setting(0, "seed of the balance and the split", check=at_least(0))
    workers: int = setting(2, "videos prepared at once (threads of one process)", check=at_least(1))
    shard: str = setting("0/1", "i/n: extract only videos with index %% n == i", check=shard_check)
    device: Optional[str] = setting(None, "cpu, cuda or cuda:N (default: cuda when available)")

    def cross_check(self):
        if self.val_fraction + (self.test_fraction or 0) >= 1:
            raise UserError(f"--val_fraction {self.val_fraction} and --test_fraction {self.test_fraction} leave no "
                            f"training groups; their sum must be below 1")


# ---------------------------------------------------------------- flags from the dataclasses

def _field_type(f):
    kind = f.type
    return kind.__args__[0] if getattr(kind, "__origin__", None) is not None else kind  # Optional[X] -> X


def add_flags(parser, cls, title=None):
    """One flag per field of `cls`, with the field's help and choices; defaults shown in --help."""
    group = parser.add_argument_group(title) if title else parser
    for f in fields(cls):
        kind, meta = _field_type(f), f.metadata
        default = f.default if f.default is not MISSING else f.default_factory()
        kw = dict(default=default, help=meta["help"] + " (default: %(default)s)")
        if kind is bool:
            kw.update(type=str2bool, nargs="?", const=True, metavar="BOOL")
        elif kind is tuple:
            kw.update(nargs="+")
        else:
            kw.update(type=kind)
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        group.add_argument(f"--{f.name}", **kw)


def build_parser():
    p = OneLineParser(prog="train.py", description="Train a video deepfake detector (a frame encoder, an RNN over "
                      "time, a classifier). With no flags it builds the embedded demo dataset under data/demo and "
                      "trains on it.")
    for name, cls in SECTIONS.items():
        add_flags(p, cls, GROUP_TITLES[name])
    return p


def section_values(namespace, cls):
    return {f.name: getattr(namespace, f.name) for f in fields(cls)}


def _coerce(f, value, where):
    """A YAML value as the field's type (YAML already types numbers and booleans)."""
    kind = _field_type(f)
    if value is None:
        return None
    try:
        if kind is bool:
            return str2bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        if kind is tuple:
            return tuple(value) if isinstance(value, (list, tuple)) else (value,)
        return kind(value)
    except (ValueError, TypeError, argparse.ArgumentTypeError):
        raise UserError(f"{where}: {f.name} should be {kind.__name__}, got {value!r}") from None


def read_yaml_config(path, sections=SECTIONS):
    """A YAML file of settings -> {flag: value}; flat, or nested under the section names."""
    import yaml  # only when a --config is given

    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise UserError(f"--config {path}: cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise UserError(f"--config {path}: not valid YAML ({' '.join(str(err).split())[:120]})") from None
    loaded = loaded or {}
    if not isinstance(loaded, dict):
        raise UserError(f"--config {path}: expected a mapping of settings, got {type(loaded).__name__}")
    flat = {}
    for key, value in loaded.items():
        if key in sections and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    known = {f.name: f for cls in sections.values() for f in fields(cls)}
    out = {}
    for key, value in flat.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            raise UserError(f"--config {path}: unknown setting {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        if key == "config":
            raise UserError(f"--config {path}: a config file cannot name another config file")
        out[key] = _coerce(known[key], value, f"--config {path}")
    return out


def given_flags(argv):
    """The settings named on the command line (not defaults, not the YAML file)."""
    names = {f.name for cls in SECTIONS.values() for f in fields(cls)}
    given = set()
    for token in argv:
        if token.startswith("--"):
            name = token[2:].split("=", 1)[0]
            matches = [n for n in names if n == name] or [n for n in names if n.startswith(name)]
            if len(matches) == 1:
                given.add(matches[0])
    return given


def parse_args(argv=None):
    """Parse and validate train.py's flags -> Config; a bad value exits with one line and status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    namespace = parser.parse_args(argv)
    try:
        if namespace.config:
            parser.set_defaults(**read_yaml_config(namespace.config))
            namespace = parser.parse_args(argv)
        cfg = Config(**{name: cls(**section_values(namespace, cls)) for name, cls in SECTIONS.items()})
        check_paths(cfg)
    except UserError as err:
        parser.error(str(err))
    return cfg


def check_paths(cfg):
    """The files and folders a run needs exist (checked at parse time, before torch is imported)."""
    root = Path(cfg.data.root_dir)
    if root.resolve() != DEMO_ROOT and not root.is_dir():
        raise UserError(f"--root_dir {root} is not a folder; point it at a prepared dataset (see prepare.py)")
    for flag, path in (("resume", cfg.run.resume), ("encoder_init", cfg.model.encoder_init), ("config", cfg.run.config)):
        if path is not None and Path(path).is_dir():
            raise UserError(f"--{flag} {path} is a folder, not a file")
        if path is not None and not Path(path).is_file():
            raise UserError(f"--{flag} {path} does not exist")


# ---------------------------------------------------------------- resume: the checkpoint decides

# Settings a resumed run may change: they do not change what was learned so far.
SAFE_ON_RESUME = {"epochs", "workers", "max_bad_fraction", "keep_epochs", "log_interval", "device", "compile",
                  "root_dir", "save_model_path", "tensorboard"}


def resume_config(cli, saved, given):
    """The config of a resumed run: the checkpoint's, with the safe flags the user gave.

    A flag given on the command line that disagrees with the checkpoint is refused in one line,
    unless it is safe (SAFE_ON_RESUME), which gives a warning instead. Returns (config, warnings).
    """
    saved = Config.from_dict(saved, "the checkpoint's config")
    warnings, sections = [], {}
    for name, cls in SECTIONS.items():
        values = asdict(getattr(saved, name))
        for f in fields(cls):
            new = getattr(getattr(cli, name), f.name)
            if name == "run" and f.name in ("resume", "run_name", "config"):
                values[f.name] = new
            elif f.name in given and new != values[f.name]:
                if f.name not in SAFE_ON_RESUME:
                    raise UserError(f"--{f.name} {new} differs from the checkpoint's {values[f.name]}; a resumed run "
                                    f"keeps the settings it was trained with: drop the flag, or start a new run")
                warnings.append(f"resuming with --{f.name} {new} instead of the checkpoint's {values[f.name]}")
                values[f.name] = new
        sections[name] = cls(**values)
    return replace(saved, **sections), warnings


if __name__ == "__main__":
    print(parse_args())
