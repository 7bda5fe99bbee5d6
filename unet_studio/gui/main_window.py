"""The main window: assembles the document, the canvas and the panels, and wires their signals.

It holds no editing logic. The training, predictions, models and quality docks (and the Model menu) are
plugged in by `install_training_docks` and talk to `window.document` through its signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QStackedWidget, QWidget

from unet_studio.core.errors import StudioError
from unet_studio.demo import DEFAULT_DEMO_FOLDER, prepare_demo_project
from unet_studio.gui import dialogs
from unet_studio.gui.actions import TOOL_NAMES, build_actions, build_menus
from unet_studio.gui.canvas import ImageCanvas
from unet_studio.gui.class_list import ClassListWidget
from unet_studio.gui.contrast_panel import ContrastPanel
from unet_studio.gui.dataset_browser import DatasetBrowser
from unet_studio.gui.display import channel_range, render
from unet_studio.gui.project_io import open_or_create_project
from unet_studio.gui.recent import RecentProjects
from unet_studio.gui.status_info import StatusInfo
from unet_studio.gui.tiled_document import BigImageDocument
from unet_studio.gui.tool_panel import ToolPanel
from unet_studio.gui.tools import Tool, ToolController
from unet_studio.gui.training_docks import install_training_docks
from unet_studio.gui.welcome import WelcomePage
from unet_studio.gui.wheel_guard import WheelGuard
from unet_studio.gui.window_memory import WindowMemory

APP_NAME = "UNet Studio"
TOOL_HINTS = {Tool.POLYGON: "Lasso: click points or drag; Enter or double-click fills, Esc cancels",
              Tool.OBJECT: "Object brush: each stroke a new object; Ctrl+click an object to add to it, M: new again"}
ERROR_SHOWN_MS = 15000


class MainWindow(QMainWindow):
    """Welcome page or canvas in the centre; images on the left; tools, classes and display on the right."""

    def __init__(self, settings: QSettings | None = None, demo_folder: Path | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.resize(1400, 900)
        self.document = BigImageDocument(self)
        self.tools = ToolController(self.document, self)
        settings = settings if settings is not None else QSettings("UNetStudio", "UNetStudio")
        self.recent = RecentProjects(settings)
        self.memory = WindowMemory(settings)
        self.demo_folder = demo_folder or DEFAULT_DEMO_FOLDER
        self.last_error = ""
        self.actions = build_actions(self, self.document.undo_group)
        self.recent_menu = build_menus(self, self.actions)
        self.canvas = ImageCanvas()
        self.canvas.tool_handler = self.tools
        self.canvas.set_ring_diameter(self.tools.brush_size)
        self.welcome = WelcomePage()
        self.centre = QStackedWidget()
        self.centre.addWidget(self.welcome)
        self.centre.addWidget(self.canvas)
        self.setCentralWidget(self.centre)
        self.browser = DatasetBrowser(self.document)
        self.tool_panel = ToolPanel(self.tools, self.actions)
        self.class_list = ClassListWidget(self.document, self.tools)
        self.contrast = ContrastPanel()
        self.add_panel("Images", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea).setMinimumWidth(340)
        tools_dock = self.add_panel("Tools", self.tool_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_panel("Classes", self.class_list, Qt.DockWidgetArea.RightDockWidgetArea)
        # Display shares a tab with Tools: at 1400 x 900 the Training dock below then has room for its chart
        self.tabifyDockWidget(tools_dock, self.add_panel("Display", self.contrast, Qt.DockWidgetArea.RightDockWidgetArea))
        tools_dock.raise_()
        self.status = StatusInfo(self.document)
        self.setStatusBar(self.status)
        self._connect_document()
        self._connect_actions()
        self.training_docks = install_training_docks(self)
        self._default_dock_sizes()
        self.wheel_guard = WheelGuard(self)
        self.wheel_guard.install(self)
        self.memory.restore_window(self)
        self.tools.set_brush_size(self.memory.brush_size(self.tools.brush_size))
        self._refresh_recent()
        self._update_title()

    # ----- assembly
    def add_panel(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """Put a panel in a dock (also listed in View); later panels use this too."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower().replace(' ', '')}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.findChild(QWidget, "viewMenu").addAction(dock.toggleViewAction())
        return dock

    def _default_dock_sizes(self) -> None:
        """On the right, the Training dock takes what Tools and Classes leave, so its loss chart shows."""
        docks = [self.findChild(QDockWidget, name) for name in ("toolsDock", "classesDock", "trainingDock")]
        self.resizeDocks(docks, [docks[0].minimumSizeHint().height(), 120, 10000], Qt.Orientation.Vertical)

    def _connect_document(self) -> None:
        doc = self.document
        doc.project_changed.connect(self._on_document_project_changed)
        doc.pixels_changed.connect(self._on_document_pixels_changed)
        doc.image_changed.connect(self._on_document_image_changed)
        doc.annotation_changed.connect(self.canvas.overlay.refresh)
        doc.annotation_changed.connect(self.canvas.objects.refresh)
        doc.annotation_changed.connect(self.canvas.tiled_labels.refresh)
        doc.classes_changed.connect(lambda: self.canvas.overlay.set_colors(doc.class_colours()))
        doc.classes_changed.connect(lambda: self.canvas.tiled_labels.set_colors(doc.class_colours()))
        doc.dirty_changed.connect(self._update_title)
        doc.error_raised.connect(self.show_error)
        self.browser.image_selected.connect(doc.set_image)
        self.tools.brush_size_changed.connect(self._on_tools_changed)
        self.tools.tool_changed.connect(self._on_tools_changed)
        self.tools.object_changed.connect(self._on_tools_changed)
        self.tools.preview_changed.connect(self.canvas.set_preview)
        self.tools.notice_raised.connect(lambda text: self.status.showMessage(text, ERROR_SHOWN_MS))
        self.canvas.cursor_moved.connect(self.status.show_cursor)
        self.canvas.cursor_left.connect(self.status.clear_cursor)
        self.canvas.zoom_changed.connect(self.status.show_zoom)
        self.contrast.settings_changed.connect(self._on_document_pixels_changed)
        self.contrast.plane_changed.connect(doc.set_plane)
        self.tool_panel.opacity.valueChanged.connect(lambda v: self.canvas.overlay.setOpacity(v / 100))
        self.canvas.overlay.setOpacity(self.tool_panel.opacity.value() / 100)
        self.welcome.new_requested.connect(self.new_project_dialog)
        self.welcome.open_requested.connect(self.open_project_dialog)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.recent_requested.connect(self.open_path)

    def _connect_actions(self) -> None:
        a, tools = self.actions, self.tools
        for name, tool in TOOL_NAMES.items():
            a[name].triggered.connect(lambda _=False, t=tool: tools.set_tool(t))
        a["smallerBrushAction"].triggered.connect(lambda: tools.grow_brush(-1))
        a["largerBrushAction"].triggered.connect(lambda: tools.grow_brush(1))
        for n in range(1, 10):
            a[f"class{n}Action"].triggered.connect(lambda _=False, row=n - 1: self.class_list.select_row(row))
        a["onlyUnlabelledAction"].toggled.connect(lambda on: setattr(tools, "only_unlabelled", on))
        a["fillEnclosedAction"].toggled.connect(lambda on: setattr(tools, "fill_enclosed", on))
        a["toggleLabelsAction"].toggled.connect(self.canvas.overlay.setVisible)
        a["outlineAction"].toggled.connect(self.canvas.overlay.set_outline)
        a["objectOutlinesAction"].toggled.connect(self.canvas.objects.setVisible)
        a["fitAction"].triggered.connect(self.canvas.fit)
        a["actualSizeAction"].triggered.connect(self.canvas.actual_size)
        a["nextImageAction"].triggered.connect(lambda: self.browser.step(1))
        a["previousImageAction"].triggered.connect(lambda: self.browser.step(-1))
        a["nextPlaneAction"].triggered.connect(lambda: self.document.step_plane(1))
        a["previousPlaneAction"].triggered.connect(lambda: self.document.step_plane(-1))
        a["saveAction"].triggered.connect(self.document.save_now)
        a["newProjectAction"].triggered.connect(self.new_project_dialog)
        a["openAction"].triggered.connect(self.open_project_dialog)
        a["demoAction"].triggered.connect(self.open_demo)
        a["addImagesAction"].triggered.connect(lambda: dialogs.add_images(self, self.document))
        a["importLabelsAction"].triggered.connect(lambda: dialogs.import_labels(self, self.document))
        a["projectSettingsAction"].triggered.connect(lambda: dialogs.project_settings(self, self.document))
        a["clearRecentAction"].triggered.connect(lambda: (self.recent.clear(), self._refresh_recent()))
        a["shortcutsAction"].triggered.connect(lambda: dialogs.show_shortcuts(self))
        a["guideAction"].triggered.connect(lambda: dialogs.show_guide(self))
        a["aboutAction"].triggered.connect(lambda: dialogs.show_about(self))
        a["quitAction"].triggered.connect(self.close)

    # ----- opening projects
    def open_path(self, path: str | Path) -> bool:
        """Open a project folder, or make a folder of images into a project; False (error shown) on failure."""
        try:
            project = open_or_create_project(path)
        except StudioError as exc:
            self.show_error(str(exc))
            return False
        return self._show_project(project)

    def open_demo(self) -> bool:
        """Open (making it on first use) a writable copy of the bundled sample project."""
        try:
            project = prepare_demo_project(self.demo_folder)
        except StudioError as exc:
            self.show_error(str(exc))
            return False
        return self._show_project(project)

    def new_project_dialog(self) -> None:
        folder = dialogs.choose_folder(self, "Folder of images for the new project")
        if folder:
            self.open_path(folder)

    def open_project_dialog(self) -> None:
        folder = dialogs.choose_folder(self, "Open project folder")
        if folder:
            self.open_path(folder)

    def _show_project(self, project) -> bool:
        if not self.document.set_project(project):
            return False
        self.recent.add(project.folder)
        self._refresh_recent()
        last = self.memory.last_image(project.folder)  # the image shown when this project was last open
        if last is not None and self.document.record(last) is not None and self.document.set_image(last):
            return True
        if self.document.records:
            self.browser.step(1)
        return True

    def _refresh_recent(self) -> None:
        paths = self.recent.paths()
        self.welcome.set_recent(paths)
        self.recent_menu.clear()
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction(self.actions["clearRecentAction"])

    # ----- reacting to the document
    def _on_document_project_changed(self) -> None:
        has_project = self.document.project is not None
        self.centre.setCurrentWidget(self.canvas if has_project else self.welcome)
        for name in ("addImagesAction", "importLabelsAction", "projectSettingsAction", "saveAction"):
            self.actions[name].setEnabled(has_project)
        self._update_title()

    def _on_document_pixels_changed(self, *_args) -> None:
        image, big = self.document.image, self.document.big
        if big is not None:  # a big image: tiles at the zoom's pyramid level, one contrast for all
            self.contrast.set_image_layout(big.source.channels, 1, 0)
            self.canvas.set_big_image(big, self.contrast.settings(), self.document.class_colours())
            self.contrast.set_range_hint(*self.canvas.tiled.ranges[self.contrast.settings().channel or 0])
            return
        if image is None:
            self.canvas.set_display(None)
            return
        self.contrast.set_image_layout(image.channels, image.n_planes, image.plane)
        settings = self.contrast.settings()
        self.canvas.set_display(render(image.pixels, settings))
        self.contrast.set_range_hint(*channel_range(image.pixels[:, :, settings.channel or 0], settings))

    def _on_document_image_changed(self, image_id: str) -> None:
        doc = self.document
        if image_id and doc.project is not None:
            self.memory.remember_image(doc.project.folder, image_id)
        self.canvas.overlay.set_labels(doc.labels, doc.class_colours())
        self.canvas.objects.set_layers(doc.labels, doc.instances)
        if doc.image is None:
            self.canvas.set_display(None)
        unreadable = doc.unreadable if doc.image is None else None
        self.canvas.show_message(f"Cannot show this image:\n{unreadable[1]}" if unreadable else "")
        self._update_title()

    def _on_tools_changed(self, *_args) -> None:
        brush_like = self.tools.tool in (Tool.BRUSH, Tool.OBJECT, Tool.ERASER)
        self.canvas.set_ring_diameter(self.tools.brush_size if brush_like else 0)
        self.actions[f"{self.tools.tool.value}Action"].setChecked(True)
        hint = TOOL_HINTS.get(self.tools.tool, "")
        if self.tools.tool is Tool.OBJECT and self.tools.object_id:
            hint = f"Object brush: strokes add to object {self.tools.object_id}; Ctrl+click outside objects or M: new"
        self.canvas.show_hint(hint)

    def _update_title(self, *_args) -> None:
        parts = [APP_NAME]
        if self.document.project is not None:
            parts.insert(0, Path(self.document.project.folder).name)
        record = self.document.record(self.document.image_id)
        unreadable = self.document.record(self.document.unreadable[0]) if self.document.unreadable else None
        image = self.document.image
        if record is not None:
            plane = f" [plane {image.plane + 1}/{image.n_planes}]" if image is not None and image.n_planes > 1 else ""
            parts.insert(0, Path(record.path).name + plane + ("*" if self.document.is_dirty else ""))
        elif unreadable is not None:
            parts.insert(0, f"{Path(unreadable.path).name} (cannot be read)")
        self.setWindowTitle(" - ".join(parts))

    def show_error(self, message: str) -> None:
        """Show a one-line StudioError message in the status bar (never a traceback)."""
        self.last_error = message
        self.status.showMessage(message, ERROR_SHOWN_MS)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.training_docks.confirm_quit():  # "Training is running: stop and quit?"
            event.ignore()
            return
        if not self.document.close_image():
            answer = QMessageBox.question(self, APP_NAME, f"{self.last_error}\nQuit without saving these labels?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.memory.save_window(self, self.tools.brush_size)
        self.training_docks.shutdown()  # stop and join every job; a stopped training keeps its best model
        self.browser.loader.clear()
        self.browser.loader.wait()
        event.accept()
