"""The review window's furniture: the six maps, slider, profile, docks and status bar.

No behaviour here: MainWindow (a subclass) opens volumes and wires these widgets up.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bvae_viewer.gui import strings
from bvae_viewer.gui.localizer import Localizer
from bvae_viewer.gui.ortho_views import OrthoViews
from bvae_viewer.gui.panels_grid import PanelsGrid
from bvae_viewer.gui.patient_header import PatientHeader
from bvae_viewer.gui.profile_plot import ProfilePlot
from bvae_viewer.gui.readout import Readout
from bvae_viewer.gui.slice_info import SliceInfo
from bvae_viewer.gui.view_state import ViewState

LAYOUT_VERSION = 3  # bumped when the docks change: an older saved layout is then ignored
DEFAULT_SIZE = QSize(1600, 1000)
SIDE_WIDTHS = (370, 330)  # first widths of the left (queue) and right docks, pixels
RIGHT_COLUMN = ("slice_dock", "threshold_dock", "localizer_dock")
RIGHT_HEIGHTS = (200, 380, 220)  # first heights in the right column, pixels
SCREEN_SHARE = 0.94  # of the available screen, when that is larger than DEFAULT_SIZE


def default_size() -> QSize:
    """The window's first size: large, since six maps side by side need the room."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    available = screen.availableGeometry().size()
    width = max(DEFAULT_SIZE.width(), round(SCREEN_SHARE * available.width()))
    height = max(DEFAULT_SIZE.height(), round(SCREEN_SHARE * available.height()))
    return QSize(min(width, available.width()), min(height, available.height()))


class WindowLayout(QMainWindow):
    """Builds the widgets every part of the window reaches: grid, slider, profile, docks."""

    def __init__(self) -> None:
        super().__init__()
        self.state = ViewState(self)  # the one display state all panels observe
        self._build_layout()
        self._build_status_bar()
        self.resize(default_size())

    def sizeHint(self) -> QSize:
        return DEFAULT_SIZE

    def fit_docks(self) -> None:
        """Narrow side columns: the six maps get the rest of the width."""
        left = self.findChild(QDockWidget, "queue_dock")
        docks = [d for d in (left, self.slice_dock) if d is not None]
        widths = list(SIDE_WIDTHS) if left is not None else list(SIDE_WIDTHS[1:])
        self.resizeDocks(docks, widths, Qt.Orientation.Horizontal)
        # Right column: the numbers and the thresholds first; the localizer takes what is left.
        column = [self.findChild(QDockWidget, name) for name in RIGHT_COLUMN]
        present = [(d, h) for d, h in zip(column, RIGHT_HEIGHTS, strict=True) if d is not None]
        self.resizeDocks([d for d, _ in present], [h for _, h in present], Qt.Orientation.Vertical)

    def _build_layout(self) -> None:
        self.grid = PanelsGrid(self.state)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setPageStep(10)
        self.slice_label = QLabel(strings.SLICE_NONE)
        self.slice_label.setMinimumWidth(120)
        nav = QHBoxLayout()
        nav.addWidget(self.slice_label)
        nav.addWidget(self.slider, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(4, 4, 4, 0)
        # Who is on screen, above the views; the six maps or the three planes (View menu).
        self.header = PatientHeader()
        self.ortho = OrthoViews(self.state)
        self.views = QStackedWidget()
        self.views.addWidget(self.grid)
        self.views.addWidget(self.ortho)
        self.state.layout_changed.connect(
            lambda name: self.views.setCurrentWidget(self.ortho if name == "three" else self.grid)
        )
        self.readout = Readout()
        top_layout.addWidget(self.header)
        top_layout.addWidget(self.views, 1)
        top_layout.addLayout(nav)
        top_layout.addWidget(self.readout)
        self.profile = ProfilePlot(self.state)
        self.profile.setMinimumHeight(150)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.profile)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([760, 190])
        self.setCentralWidget(splitter)

        self.info = SliceInfo()
        self.localizer = Localizer(self.state)
        self.slice_dock = self._dock(self.info, strings.DOCK_TITLE, "slice_dock")
        self.localizer_dock = self._dock(self.localizer, strings.LOCALIZER_TITLE, "localizer_dock")
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.slice_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.localizer_dock)
        # The review queue docks on the left (add_queue_dock), its thresholds on the right
        # between the slice's numbers and the localizer (add_side_dock).

    def _dock(self, widget: QWidget, title: str, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # the key under which saveState() remembers it
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        return dock

    def add_queue_dock(self, widget: QWidget, title: str) -> QDockWidget:
        """Place a case/slice queue beside the maps without touching the map layout."""
        dock = self._dock(widget, title, "queue_dock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def add_side_dock(self, widget: QWidget, title: str, name: str) -> QDockWidget:
        """A panel on the right, under the slice's numbers and above the localizer."""
        dock = self._dock(widget, title, name)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.splitDockWidget(self.slice_dock, dock, Qt.Orientation.Vertical)
        return dock

    def dock_widgets(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(strings.CANCEL)
        self.cancel_button.setVisible(False)
        self.device_label = QLabel(strings.STATUS_DEVICE.format(device="-"))
        self.model_label = QLabel(strings.STATUS_NO_MODEL)
        self.timing_label = QLabel("")
        for widget in (
            self.progress,
            self.cancel_button,
            self.timing_label,
            self.device_label,
            self.model_label,
        ):
            bar.addPermanentWidget(widget)
