"""Every sentence the review window shows, in one place: one vocabulary for clinicians."""

from __future__ import annotations

APP_TITLE = "bvae-viewer: research use only"
WINDOW_TITLE_FILE = "{name} - bvae-viewer (research use only)"

# Panel titles, keyed by the MapSet field (or "total") they show.
PANEL_TITLES = {
    "original": "Original (T1ce)",
    "reconstruction": "Reconstruction",
    "aleatoric": "Aleatoric uncertainty",
    "epistemic": "Epistemic uncertainty",
    "total": "Total uncertainty",
    "error": "Reconstruction error",
}
PANEL_TIPS = {
    "original": "The preprocessed slice the model saw. Right-drag or Ctrl+drag: window/level.",
    "reconstruction": "The model's mean reconstruction of this slice.",
    "aleatoric": "Noise the model expects in the image itself (data uncertainty).",
    "epistemic": "How much the model disagrees with itself (model uncertainty).",
    "total": "Aleatoric plus epistemic uncertainty.",
    "error": "Squared difference between original and reconstruction.",
}

MENU_FILE = "&File"
MENU_VIEW = "&View"
MENU_HELP = "&Help"
ACT_OPEN = "&Open file..."
ACT_OPEN_DICOM = "Open &DICOM folder..."
ACT_OPEN_DEMO = "Open the &demo case"
ACT_RECENT = "Open &recent"
ACT_RECENT_EMPTY = "(none yet)"
ACT_SCREENSHOT = "Save &screenshot..."
ACT_QUIT = "&Quit"
ACT_RADIOLOGICAL = "&Radiological orientation (patient's right on screen left)"
ACT_RESET_VIEW = "Reset &zoom"
ACT_AUTO_WL = "&Auto window/level"
ACT_CLEAR_CROSSHAIR = "&Clear crosshair"
ACT_ABOUT = "&About"
ACT_SHORTCUTS = "&Mouse and keys"

OPEN_FILTER = (
    "Volumes (*.nii *.nii.gz *.mha *.mhd *.nrrd *.nhdr *.dcm);;All files (*)"
)
OPEN_TITLE = "Open a brain MRI volume"
OPEN_DICOM_TITLE = "Open a DICOM series folder"
SCREENSHOT_TITLE = "Save a screenshot of the window"
SCREENSHOT_FILTER = "PNG image (*.png)"

WL_LABEL = "Window/level:"
WL_PRESETS = {
    "Auto (brain)": None,  # percentile of the brain pixels on screen
    "Full range": (0.0, 1.0),
    "Soft tissue": (0.15, 0.85),
    "Enhancement": (0.45, 1.0),
}
OVERLAY_LABEL = "Overlay on original:"
OVERLAYS = {"none": "None", "error": "Reconstruction error", "pixel_score": "Pixel anomaly score"}
OPACITY_LABEL = "Opacity"

SLICE_LABEL = "Slice {index} / {last}"
SLICE_NONE = "No volume"
PROFILE_TITLE = "Per-slice profile (click a slice to go there)"
PROFILE_SCORE = "Anomaly"
PROFILE_UNC = "Uncertainty"
PROFILE_X = "Axial slice"

DECISION_WORDS = {
    "normal": "Normal",
    "flagged": "Flagged: possible abnormality",
    "review": "Review: the model is unsure",
    "empty": "No brain on this slice",
    "pending": "Analysing...",
}
DOCK_TITLE = "Slice details"
SCORES_TITLE = "Slice"
SCORES_ROWS = (
    ("anomaly_score", "Anomaly score"),
    ("recon_error", "Reconstruction error"),
    ("unc_total", "Total uncertainty"),
    ("unc_epistemic", "Epistemic"),
    ("unc_aleatoric", "Aleatoric"),
    ("brain_fraction", "Brain in slice"),
)
THRESHOLDS_LINE = "Thresholds: anomaly {score}, uncertainty {unc}"
NO_THRESHOLD = "not set"
PIXEL_VALUES = "Pixel ({row}, {col}): {values}"

STATUS_READY = "Open a volume: File > Open, drag a file here, or File > Open the demo case."
STATUS_LOADING = "Loading {name}..."
STATUS_PREPROCESSING = "Preparing slices..."
STATUS_MODEL = "Loading the model..."
STATUS_ANALYSING = "Analysing {done} / {total} slices"
STATUS_DONE = "Analysis finished: {flagged} flagged, {review} for review, {normal} normal slices."
STATUS_CANCELLED = "Analysis cancelled; slices analysed so far are shown."
STATUS_DEVICE = "Device: {device}"
STATUS_MODEL_ID = "Model: {name} ({hash})"
STATUS_NO_MODEL = "Model: not loaded"
STATUS_TIMINGS = "Load {load:.1f} s, preparation {prep:.1f} s, analysis {infer:.1f} s"
CANCEL = "Cancel"
SCREENSHOT_SAVED = "Screenshot saved to {path}"

ERROR_TITLE = "Cannot open this volume"
ERROR_ANALYSIS_TITLE = "The analysis failed"
ERROR_MODEL = "The anomaly model could not be loaded: {reason}"
ERROR_ANALYSIS = (
    "The analysis stopped because of an internal error ({reason}); the image is still shown."
)
ERROR_NO_DEMO = "The demo case is missing from this installation ({path})."
ERROR_SCREENSHOT = "The screenshot could not be written to {path}."
ERROR_SCREENSHOT_NO_INPUT = "--screenshot needs a file to open, or --demo."
ERROR_DROP = "Only files or folders can be dropped here."

ABOUT_TEXT = (
    "<b>bvae-viewer</b><br>Brain MRI review with an uncertainty-aware Bayesian VAE.<br>"
    "For research use only; not a medical device.<br>Model: {model}"
)
SHORTCUTS_TEXT = (
    "<table>"
    "<tr><td>Mouse wheel, Up/Down arrows</td><td>previous / next slice</td></tr>"
    "<tr><td>Page Up / Page Down</td><td>10 slices</td></tr>"
    "<tr><td>Home / End</td><td>first / last slice</td></tr>"
    "<tr><td>Ctrl + wheel</td><td>zoom (all panels together)</td></tr>"
    "<tr><td>Left-drag, middle-drag</td><td>pan</td></tr>"
    "<tr><td>Left click</td><td>crosshair and pixel values</td></tr>"
    "<tr><td>Right-drag or Ctrl + left-drag</td>"
    "<td>window/level (left-right: width, up-down: level)</td></tr>"
    "<tr><td>Double click</td><td>reset zoom</td></tr>"
    "<tr><td>R</td><td>radiological / neurological</td></tr>"
    "<tr><td>A</td><td>auto window/level</td></tr>"
    "</table>"
)
