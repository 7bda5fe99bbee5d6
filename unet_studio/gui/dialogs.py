"""Small dialogs of the File and Help menus: folders, adding images, project settings, shortcuts, the
getting-started guide and About."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from unet_studio import __version__
from unet_studio.core.images import IMAGE_SUFFIXES
from unet_studio.gui.shortcuts import shortcuts_html

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"


def choose_folder(parent: QWidget, title: str) -> str:
    """A folder picked by the user, or '' when cancelled."""
    return QFileDialog.getExistingDirectory(parent, title)


def add_images(parent: QWidget, document) -> None:
    """File > Add images: reference more image files in the open project."""
    if document.project is None:
        return
    paths, _ = QFileDialog.getOpenFileNames(parent, "Add images", str(document.project.folder), IMAGE_FILTER)
    if paths:
        document.add_images(paths)


IMPORT_KINDS = {
    "Masks (0 background, 1..K classes)": "mask",
    "Instance labels (0 background, object ids)": "instances",
    "UNet Studio annotations (0 unlabelled, 1 background, 2.. classes)": "annotation",
    "ImageJ ROI zips (<image>.zip)": "roi",
}


def import_labels(parent: QWidget, document) -> None:
    """File > Import labels: a folder of label files named after the images, merged into the annotations."""
    if document.project is None:
        return
    folder = choose_folder(parent, "Folder of label files named after the images")
    if not folder:
        return
    choice, ok = QInputDialog.getItem(parent, "Import labels", "The files are", list(IMPORT_KINDS), 0, False)
    if not ok:
        return
    imported, problems = document.import_labels(folder, IMPORT_KINDS[choice])
    summary = f"Imported labels for {len(imported)} image(s)."
    if problems:
        summary += "\n\n" + "\n".join(problems)
    QMessageBox.information(parent, "Import labels", summary)


class ProjectSettingsDialog(QDialog):
    """A summary of the project, its description, and a seeded train/val split of all-train projects."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Project settings")
        project = document.project
        self.document = document
        self.description = QLineEdit(str(project.settings.get("description", "")))
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 0.9)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.2)
        self.split_button = QPushButton("Move this fraction of the images to 'val'")
        self.split_button.setEnabled(bool(project.images) and all(r.split == "train" for r in project.images))
        self.split_button.clicked.connect(self._on_split_button_clicked)
        statuses: dict[str, int] = {}
        for record in project.images:
            statuses[record.status] = statuses.get(record.status, 0) + 1
        form = QFormLayout()
        form.addRow("Name", QLabel(project.name))
        form.addRow("Folder", QLabel(str(project.folder)))
        form.addRow("Description", self.description)
        form.addRow("Images", QLabel(", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none"))
        form.addRow("Classes", QLabel(", ".join(f"{c.value}: {c.name}" for c in project.classes)))
        form.addRow("Validation fraction", self.val_fraction)
        form.addRow("", self.split_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.document.update_settings(description=self.description.text().strip())
        super().accept()

    def _on_split_button_clicked(self) -> None:
        self.document.auto_split(self.val_fraction.value())
        self.split_button.setEnabled(False)


def project_settings(parent: QWidget, document) -> None:
    """File > Project settings."""
    if document.project is not None:
        ProjectSettingsDialog(document, parent).open()


def show_shortcuts(parent: QWidget) -> QDialog:
    """Help > Shortcuts: the one shortcut table, non-modal."""
    return _text_dialog(parent, "shortcutsDialog", "Keyboard and mouse shortcuts", shortcuts_html(), (720, 640))


GUIDE = """<h3>Getting started</h3>
<ol>
<li><b>Open images</b>: File &gt; New project from folder (Ctrl+N) makes a folder of images a project; your
images are never written. File &gt; Open demo project has four labelled nuclei images.</li>
<li><b>Label a little</b>: pick a class (key 1 = background, 2 = the first object class...) and paint a few
strokes of each class with the brush (P); unpainted pixels are ignored by training. Fill (F) and the lasso (L)
fill areas; the eraser (E) makes pixels unlabelled again. Labels save by themselves.</li>
<li><b>Train</b> (Ctrl+T, Training panel): runs in the background; Stop keeps the best model.</li>
<li><b>Predict and review</b> (Ctrl+P, Predictions panel): accept a prediction (Ctrl+Shift+A) or turn on
Review objects and click objects to accept or reject them; correct with the brush and train again.</li>
<li><b>Export</b> (Ctrl+E): masks, instance labels, measurements, ImageJ ROIs, QuPath GeoJSON, COCO, the model.</li>
</ol>
<p>The canvas: wheel zooms, Space+drag or the middle button pans, [ and ] change the brush size. Help &gt;
Shortcuts lists every key.</p>"""


def _text_dialog(parent: QWidget, name: str, title: str, html: str, size: tuple[int, int]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    text = QTextBrowser()
    text.setHtml(html)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    dialog.resize(*size)
    dialog.show()
    return dialog


def show_guide(parent: QWidget) -> QDialog:
    """Help > Getting started: the loop in five steps, non-modal."""
    return _text_dialog(parent, "guideDialog", "Getting started", GUIDE, (640, 460))


def about_html() -> str:
    """Version of the app and of the libraries that decide how it runs."""
    import PySide6
    import torch

    return (f"<h3>UNet Studio {__version__}</h3><p>Label microscopy images, train a U-Net on them, review and "
            f"export the masks.</p><p>torch {torch.__version__}, PySide6 {PySide6.__version__}</p>")


def show_about(parent: QWidget) -> QDialog:
    """Help > About: the version."""
    return _text_dialog(parent, "aboutDialog", "About UNet Studio", about_html(), (420, 220))
