"""What the CLI and GUI call to train: from two folders (images + labels) or from a project."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import read_annotation
from unet_studio.core.checksums import file_sha256
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.images import file_stem, image_info, list_images, read_image
from unet_studio.core.instance_targets import TOUCHING_BORDER, TargetRecipe, target_from_instances
from unet_studio.core.normalize import normalize_for_network
from unet_studio.core.plane_labels import read_every_plane, read_label_plane
from unet_studio.core.project import Project
from unet_studio.data.mixed_batches import item_channels, split_kinds
from unet_studio.data.sampling import TrainItem
from unet_studio.inference.package_model import read_package
from unet_studio.data.targets import apply_recipe
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION, Checkpoint, load_checkpoint
from unet_studio.models.package_checkpoint import PREDICT_ONLY_ARCH, PredictOnlyModelError
from unet_studio.models.config import ModelConfig
from unet_studio.training.big_source import big_image_record
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, TrainingEvent, TrainingFinished
from unet_studio.training.project_source import ProjectSnapshot, snapshot_items, snapshot_project
from unet_studio.training.trainer import Trainer
from unet_studio.training.validation import is_sparse

LABEL_FORMATS = ("annotation", "mask", "instances")
PLANE_TAG = " [plane "  # a stack's plane item is named '<image file> [plane k]'
SKIPPED = "skipped "  # how a Log line about an unusable input file starts (the CLI counts them)
MAX_UNCONFIRMED_CLASSES = 20  # more object classes than this in the labels must be confirmed (n_classes)


def _target(labels: np.ndarray, labels_format: str) -> np.ndarray:
    """Training target (-1 unlabelled, 0 background, k class k) from an annotation, a conventional mask or an
    instance label image (0 background, each object its own id: all objects are class 1)."""
    if labels_format == "annotation":
        return labels.astype(np.int64) - 1
    if labels_format == "instances":
        return target_from_instances(labels)
    if labels.max(initial=0) == 255 and not np.isin(labels, (0, 255), invert=True).any():
        labels = labels > 0  # a binary mask saved as 0/255
    return labels.astype(np.int64)


def _image_file(item: TrainItem) -> Path:
    """The image file an item was read from (a stack's plane item is named '<file> [plane k]')."""
    return Path(item.name.split(PLANE_TAG)[0])


def _read_items(image_path: Path, label_path: Path, labels_format: str, normalization: dict) -> list[TrainItem]:
    """The pair's 2-D items: one, or with a multi-page label file one per plane of the stack (for the
    'annotation' format only the planes that hold labels; a mask's empty plane is all background)."""
    info = image_info(label_path)
    if info.n_planes == 1:
        return [_read_item(image_path, label_path, labels_format, normalization, None)]
    planes = range(info.n_planes)
    if labels_format == "annotation":
        planes = [p for p, labels in enumerate(read_every_plane(label_path)) if labels.any()]
    return [_read_item(image_path, label_path, labels_format, normalization, p) for p in planes]


def _read_item(image_path: Path, label_path: Path, labels_format: str, normalization: dict,
               plane: int | None) -> TrainItem:
    """Plane `plane` of the image with page `plane` of its label file (None: a flat pair, plane 0)."""
    image_data = read_image(image_path, plane=plane or 0)
    pixels = image_data.pixels
    if plane is None:
        labels = read_annotation(label_path, pixels.shape[:2])
    else:
        if image_data.n_planes != image_info(label_path).n_planes:
            raise TrainingError(label_path, f"labels have {image_info(label_path).n_planes} planes but the image "
                                f"{image_data.n_planes}")
        labels = read_label_plane(label_path, plane, image_data.n_planes, pixels.shape[:2])
    image = normalize_for_network(pixels, normalization["low"], normalization["high"])
    ids = labels.astype(np.uint32) if labels_format == "instances" else None
    name = str(image_path) if plane is None else f"{image_path}{PLANE_TAG}{plane}]"
    return TrainItem(image, _target(labels, labels_format), name=name, instances=ids)


def load_training_items(images: Sequence[str | Path], labels: Sequence[str | Path],
                        labels_format: str = "annotation",
                        normalization: dict | None = None) -> tuple[list[TrainItem], list[str]]:
    """Pair image and label files by file stem and read them; a file that cannot be used becomes one
    line in `problems` and the others are still returned. Unpaired files are ignored."""
    if labels_format not in LABEL_FORMATS:
        raise TrainingError(f"labels format {labels_format!r}", f"unknown, choose one of {', '.join(LABEL_FORMATS)}")
    normalization = {**DEFAULT_NORMALIZATION, **(normalization or {})}
    by_stem = {file_stem(Path(p)): Path(p) for p in labels}
    items, problems = [], []
    for image_path in map(Path, images):
        label_path = by_stem.get(file_stem(image_path))
        if label_path is None:
            continue
        try:
            items.extend(_read_items(image_path, label_path, labels_format, normalization))
        except StudioError as error:
            problems.append(str(error))
    return items, problems


def _channels(items: Sequence[TrainItem]) -> int:
    counts = {item_channels(item) for item in items}
    if len(counts) > 1:
        found = ", ".join(f"{item.name}: {item_channels(item)}" for item in items[:6])
        raise TrainingError("training images", f"images differ in channel count ({found}); use one kind of image")
    return counts.pop()


def _split_off(items: list[TrainItem], fraction: float, seed: int) -> tuple[list[TrainItem], list[TrainItem]]:
    """Seeded random ~fraction of items held out for validation (none when fewer than two items, or when
    the labels are scribbles: every stroke is precious, and scores on scribble pixels are biased anyway).
    The planes of a stack go to one side together (neighbouring planes look alike, so a plane beside a
    training plane would flatter validation); with a single stack, its last planes are held out."""
    if len(items) < 2 or fraction <= 0 or is_sparse(items):
        return items, []
    n_val = min(len(items) - 1, max(1, round(len(items) * fraction)))
    groups: dict[Path, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(_image_file(item), []).append(index)
    if len(groups) == 1:
        held = set(range(len(items) - n_val, len(items)))
    else:
        members, held = list(groups.values()), set()
        for group in np.random.default_rng(seed).permutation(len(members)).tolist():
            if len(held) >= n_val:
                break
            if len(held) + len(members[group]) < len(items):  # something must be left to train on
                held.update(members[group])
    return [it for i, it in enumerate(items) if i not in held], [it for i, it in enumerate(items) if i in held]


def _resolve_model(model_config: ModelConfig | None, init: Checkpoint | None, channels: int,
                   num_classes: int) -> ModelConfig:
    """The given config (or the init checkpoint's, or the balanced preset) with in_channels from the images
    and enough outputs for every labelled class."""
    base = model_config or (init.model_config if init else ModelConfig.from_preset())
    outputs = max(num_classes, base.num_classes if model_config or init else 2)
    return dataclasses.replace(base, in_channels=channels, num_classes=outputs)


def _as_checkpoint(init: Checkpoint | str | Path | None) -> Checkpoint | None:
    return init if init is None or isinstance(init, Checkpoint) else load_checkpoint(init)


def _sources(paths: Sequence[Path]) -> list[dict]:
    return [{"name": p.name, "sha256": file_sha256(p)} for p in paths]


def iter_train_folders(images_dir: str | Path, labels_dir: str | Path, out_path: str | Path,
                       model_config: ModelConfig | None = None, train_config: TrainConfig | None = None,
                       labels_format: str = "annotation", init: Checkpoint | str | Path | None = None,
                       stop: threading.Event | None = None,
                       n_classes: int | None = None) -> Iterator[TrainingEvent]:
    """Train on images_dir/<stem>.* with labels_dir/<stem>.png|tif; ~val_fraction of the pairs validate.
    `n_classes` (object classes) confirms labels with more than MAX_UNCONFIRMED_CLASSES classes, or asks
    for more outputs than the labels hold. `labels_format="instances"` (instance label images) trains one
    object class, with the touching-border class too under `instance_target="touching-border"` (training_recipe)."""
    train_config = train_config or TrainConfig()
    images, labels = list_images(images_dir), list_images(labels_dir)
    paired_stems = {file_stem(p) for p in images} & {file_stem(p) for p in labels}
    if not paired_stems:
        raise TrainingError(labels_dir, f"no label file has the name of an image in {images_dir}")
    init = _as_checkpoint(init)
    normalization = init.normalization if init else DEFAULT_NORMALIZATION
    items, problems = load_training_items(images, labels, labels_format, normalization)
    for problem in problems:
        yield Log(f"{SKIPPED}{problem}")
    if not items:
        raise TrainingError(labels_dir, f"none of the {len(paired_stems)} image/label pairs could be read")
    recipe = training_recipe(items, train_config)
    num_classes = _checked_class_count(items, labels_dir, n_classes) + 1
    config = _resolve_model(model_config, init, _channels(items), num_classes + recipe.extra_outputs())
    n_class_outputs = config.num_classes - recipe.extra_outputs()
    classes = init.classes if init and len(init.classes) == n_class_outputs else _generic_classes(n_class_outputs)
    items = apply_recipe(items, recipe, border_class=config.num_classes - 1)
    train_items, val_items = _split_off(items, train_config.val_fraction, train_config.seed)
    yield Log(f"{len(train_items)} image(s) for training, {len(val_items)} for validation"
              + (" (sparse labels: every labelled image trains)" if not val_items and is_sparse(items) else ""))
    used = list(dict.fromkeys(_image_file(item) for item in items))
    yield Log(_recipe_line(recipe))
    trainer = Trainer(config, train_config, train_items, val_items, classes, out_path, init_checkpoint=init,
                      image_sources=_sources(used), normalization=normalization, recipe=recipe)
    yield from trainer.iter_fit(stop)


def training_recipe(items: Sequence[TrainItem], train_config: TrainConfig) -> TargetRecipe:
    """Touching-border (the default `instance_target`) when an item has instance labels (objects the border
    class can separate), else the plain semantic recipe: at a 300 s budget on the 2-core CPU (1500 steps) it
    scored above the plain recipe on DSB nuclei over 3 seeds (README, Measured); below 200 steps it did not."""
    if train_config.instance_target == TOUCHING_BORDER and any(item.instances is not None for item in items):
        return TargetRecipe(TOUCHING_BORDER, train_config.border_width)
    return TargetRecipe()


def _recipe_line(recipe: TargetRecipe) -> str:
    if not recipe.has_border:
        return "target: classes (watershed instances)"
    return (f"target: classes + touching border ({recipe.border_width} px where objects of the instance labels "
            "meet), post-processing chosen on validation images")


def _checked_class_count(items: Sequence[TrainItem], labels_dir: str | Path, n_classes: int | None) -> int:
    """Object classes to train: what the labels hold (at least 1), or `n_classes` where that confirms or
    exceeds it. Many classes are usually instance labels given by mistake, so they must be confirmed."""
    top = max(items, key=lambda item: int(item.target.max(initial=0)))
    found = max(1, int(top.target.max(initial=0)))
    if n_classes is not None and n_classes < found:
        raise TrainingError(top.name, f"labels hold object class {found}, beyond the {n_classes} class(es) asked for")
    if n_classes is None and found > MAX_UNCONFIRMED_CLASSES:
        raise TrainingError(labels_dir, f"labels hold {found} object classes (largest in {Path(top.name).name}): "
                                        "instance labels rather than class masks? Give --labels-format "
                                        f"instances for those, or --classes {found} to train that many classes")
    return max(found, n_classes or 0)


def _generic_classes(n_outputs: int) -> list[dict]:
    names = ["background"] + [f"class {k}" for k in range(1, n_outputs)]
    return [{"value": k + 1, "name": name, "color": None} for k, name in enumerate(names)]


def iter_train_project(project: Project, out_path: str | Path | None = None,
                       model_config: ModelConfig | None = None, train_config: TrainConfig | None = None,
                       init: Checkpoint | str | Path | None = None, stop: threading.Event | None = None,
                       model_name: str | None = None, register: bool = True) -> Iterator[TrainingEvent]:
    """Train on the project's labelled 'train' images, validate on its 'val' ones (or on ~val_fraction of
    the train images when none is marked), then register the model in the project and make it active
    (`register=False` leaves that to the caller: see register_model)."""
    snapshot = snapshot_project(project)
    out_path = Path(out_path) if out_path else project.new_model_path()
    trainers: list[Trainer] = []
    for event in iter_train_snapshot(snapshot, out_path, model_config, train_config, init, stop, trainers.append):
        if register and isinstance(event, TrainingFinished) and event.checkpoint_path is not None:
            name = model_name or f"{trainers[0].model_config.arch} {out_path.stem.removeprefix('model-')}"
            path = register_model(project, event.checkpoint_path, name)
            yield Log(f"model saved in the project as {path.stem} (now the active model)")
            event = dataclasses.replace(event, checkpoint_path=path)
        yield event


def iter_train_snapshot(snapshot: ProjectSnapshot, out_path: str | Path,
                        model_config: ModelConfig | None = None, train_config: TrainConfig | None = None,
                        init: Checkpoint | str | Path | None = None, stop: threading.Event | None = None,
                        on_trainer: Callable[[Trainer], None] | None = None) -> Iterator[TrainingEvent]:
    """iter_train_project's run on a frozen ProjectSnapshot; reads only the files it names, so it may run on
    any thread. `on_trainer(trainer)` is called once the Trainer exists (the GUI sets its preview image)."""
    train_config = train_config or TrainConfig()
    init = _as_checkpoint(init)
    normalization = init.normalization if init else DEFAULT_NORMALIZATION
    by_split, problems, used = snapshot_items(snapshot, normalization)
    for problem in problems:
        yield Log(f"{SKIPPED}{problem}")
    if snapshot.validation_left_out:
        yield Log(snapshot.validation_left_out)
    (train_items, big_items), val_items = split_kinds(by_split["train"]), by_split["val"]
    if not train_items and not big_items:
        raise TrainingError(snapshot.manifest_path, "no labelled training image: label some pixels first")
    recipe = training_recipe(train_items, train_config)
    if not val_items:
        train_items, val_items = _split_off(train_items, train_config.val_fraction, train_config.seed)
        if val_items:
            yield Log(f"no labelled validation image: held out {len(val_items)} of the labelled training images "
                      "for validation")
        else:
            yield Log("no validation image (mark images 'val' to get one): every labelled image trains, "
                      "tracking the training loss")
    config = _resolve_model(model_config, init, _channels(train_items + val_items + big_items),
                            snapshot.num_classes + recipe.extra_outputs())
    train_items, val_items = (apply_recipe(part, recipe, config.num_classes - 1) for part in (train_items, val_items))
    train_items += big_items  # no instance layer on big images: their targets are the classes under any recipe
    if big_items:
        yield Log(f"{len(big_items)} big image(s) train from patches read region by region")
    yield Log(_recipe_line(recipe))
    sources = _sources(used) + [big_image_record(item) for item in big_items]
    trainer = Trainer(config, train_config, train_items, val_items, list(snapshot.classes), out_path,
                      init_checkpoint=init, image_sources=sources, normalization=normalization,
                      recipe=recipe)
    if on_trainer is not None:
        on_trainer(trainer)
    yield from trainer.iter_fit(stop)


def register_model(project: Project, checkpoint_path: str | Path, name: str, activate: bool = True) -> Path:
    """Record a finished checkpoint in the project and (unless `activate` is False) make it the active model;
    returns its path there. Call it on the thread that owns the project (the GUI thread in the app).
    A bioimage.io package is a checkpoint when UNet Studio made it; any other one that this app can run is
    recorded with the architecture "bioimage.io": it predicts, and training from it says it cannot.
    """
    try:
        checkpoint = load_checkpoint(checkpoint_path)
    except PredictOnlyModelError:  # a bioimage.io package from elsewhere: recorded to predict with
        read_package(checkpoint_path)  # refuses one this app cannot run
        record = project.add_model(checkpoint_path, name, PREDICT_ONLY_ARCH, 0)
    else:
        n_images = len(checkpoint.history.get("images") or [])
        record = project.add_model(checkpoint_path, name, checkpoint.model_config.arch, n_images,
                                   checkpoint.metrics.get("mean_dice"), checkpoint.metrics)
    if activate:
        project.set_active_model(record.id)
    return project.model_path(record.id)
