"""Every sentence the review window shows, in one place: one vocabulary for clinicians."""

from __future__ import annotations

APP_TITLE = "bvae-viewer: research use only"
WINDOW_TITLE_FILE = "{name} - bvae-viewer (research use only)"

# The panels' titles and tips are the display spec's (analysis.display), shared with reports.

MENU_FILE = "&File"
MENU_VIEW = "&View"
MENU_HELP = "&Help"
MENU_MODEL = "&Model"
ACT_OPEN = "&Open file..."
ACT_OPEN_DICOM = "Open &DICOM folder..."
ACT_OPEN_DEMO = "Open the &demo case"
ACT_OPEN_BATCH = "Open folder as &batch..."
ACT_RECENT = "Open &recent"
ACT_RECENT_EMPTY = "(none yet)"
ACT_SCREENSHOT = "Save &screenshot..."
ACT_EXPORT = "&Export report..."
ACT_QUIT = "&Quit"
ACT_RADIOLOGICAL = "&Radiological orientation (patient's right on screen left)"
ACT_RESET_VIEW = "Reset &zoom"
ACT_AUTO_WL = "Auto &window/level"
ACT_MASK_OUTLINE = "Brain &mask outline"
ACT_CLEAR_CROSSHAIR = "&Clear crosshair"
ACT_ABOUT = "&About"
ACT_SHORTCUTS = "&Mouse and keys"

OPEN_FILTER = "Volumes (*.nii *.nii.gz *.mha *.mhd *.nrrd *.nhdr *.dcm);;All files (*)"
OPEN_TITLE = "Open a brain MRI volume"
OPEN_DICOM_TITLE = "Open a DICOM series folder"
OPEN_BATCH_TITLE = "Open a folder of cases as a batch"
SCREENSHOT_TITLE = "Save a screenshot of the window"
SCREENSHOT_FILTER = "PNG image (*.png)"

WL_LABEL = "Window/level:"
WL_PRESETS = {
    "Auto (brain)": None,  # percentile of the brain pixels on screen
    "Full range": (0.0, 1.0),
    "Soft tissue": (0.15, 0.85),
    "Enhancement": (0.45, 1.0),
}
WL_CUSTOM = "Custom"
OVERLAY_LABEL = "Overlay on original:"
# "error" is renamed after the loaded model's method (gui.map_names.overlay_names).
OVERLAYS = {"none": "None", "error": "Error map", "pixel_score": "Pixel anomaly score"}
OPACITY_LABEL = "Opacity"

SLICE_LABEL = "Slice {index} / {last}"
SLICE_NONE = "No volume"
PROFILE_TITLE = "Per-slice profile (click a slice to go there)"
PROFILE_SCORE = "Anomaly"
PROFILE_UNC = "Uncertainty"
PROFILE_X = "Axial slice (the input's own numbers)"

DECISION_WORDS = {
    "normal": "Normal",
    "flagged": "Flagged: possible abnormality",
    "review": "Review: the model is unsure",
    "empty": "No brain on this slice",
    "pending": "Analysing...",
}
DOCK_TITLE = "Slice details"
LOCALIZER_TITLE = "Localizer"
MENU_PANELS = "&Panels"
SCORES_TITLE = "Slice"
SCORES_ROWS = (
    ("anomaly_score", "Anomaly score"),
    ("recon_error", "Error map"),  # renamed after the method (gui.map_names.score_rows)
    ("unc_total", "Total uncertainty"),
    ("unc_epistemic", "Epistemic"),
    ("unc_aleatoric", "Aleatoric"),
    ("brain_fraction", "Brain in slice"),
)
THRESHOLDS_LINE = "Thresholds: anomaly {score}, uncertainty {unc}"
NO_THRESHOLD = "not set"
PIXEL_VALUES = "Pixel ({row}, {col}): {values}"
THRESHOLD_LINE_TIP = "Drag the dashed line to set this threshold (the spin boxes follow)."
# The patient and study strip above the views (gui.patient_header).
HEADER_NONE = "No case open."
HEADER_PATIENT = "Patient"
HEADER_ID = "ID"
HEADER_SEX = "Sex"
HEADER_BORN = "Born"
HEADER_STUDY = "Study"
HEADER_SERIES = "Series"
HEADER_MODALITY = "Modality"
HEADER_THICKNESS = "Slice thickness"
HEADER_VOXEL = "Voxel"
HEADER_FILE = "File"
ORIGINAL_CONTRAST_TITLE = "Original ({contrast})"
# Three orthogonal views, the cursor's readout and the ruler (gui.ortho_views, readout, ruler).
ACT_THREE_VIEWS = "&Three views: axial, coronal, sagittal (else the six maps)"
ACT_RULER = "R&uler: drag to measure in mm"
ORTHO_MAP_LABEL = "Lower row shows:"
ORTHO_PLANES = {"axial": "axial", "coronal": "coronal", "sagittal": "sagittal"}
ORTHO_ACQUIRED = "{plane}, as acquired"  # the views show the scan's own grid (front end ran)
READOUT_NONE = "Click a view for the position in mm and the values there."
READOUT_INPUT_SLICE = "Input slice"
READOUT_POSITION = "Scanner"
READOUT_INTENSITY = "Intensity"
READOUT_INTENSITY_VALUE = "{value:.3g} (≈{raw:.0f})"
READOUT_RULER = "Ruler"
RULER_TEXT = "{mm:.1f} mm"

STATUS_READY = "Open a volume: File > Open, drag a file here, or File > Open the demo case."
STATUS_LOADING = "Loading {name}..."
STATUS_PREPROCESSING = "Preparing slices..."
STATUS_MODEL = "Loading the model..."
STATUS_CACHE_LOOKUP = "Looking for a stored result of this volume..."
STATUS_ANALYSING = "Analysing {done} / {total} slices"
STATUS_DONE = "Analysis finished: {flagged} flagged, {review} for review, {normal} normal slices."
STATUS_DONE_CACHED = (
    "Stored result shown, the model did not run: {flagged} flagged, {review} for review, "
    "{normal} normal slices."
)
STATUS_CANCELLED = "Analysis cancelled; slices analysed so far are shown."
STATUS_DEVICE = "Device: {device}"
DEVICE_FROM_CACHE = "from cache, computed on {device}"
STATUS_MODEL_ID = "Model: {method}, {name} ({hash})"
STATUS_NO_MODEL = "Model: not loaded"
STATUS_TIMINGS = "Load {load:.1f} s, preparation {prep:.1f} s, analysis {infer:.1f} s"
STATUS_TIMINGS_CACHED = "Load {load:.1f} s, preparation {prep:.1f} s, read from cache {read:.1f} s"
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
    "<b>bvae-viewer {version}</b><br>Brain MRI review with an uncertainty-aware Bayesian VAE."
    "<br><b>For research use only; not a medical device.</b> The bundled model was trained on "
    "synthetic data, not on patients.<br>Model: {model}<br><br>"
    "<small>Licences: bvae-viewer, MIT. The synthetic training data and the demo case derive "
    "from the MNI152 ICBM 2009a template (Copyright (C) 1993-2009 Louis Collins, McConnell "
    "Brain Imaging Centre, Montreal Neurological Institute, McGill University; free use with "
    "this notice kept), as shipped by nilearn (BSD-3-Clause). Bundled libraries: Qt 6 and "
    "PySide6 (LGPLv3), pyqtgraph (MIT), PyTorch (BSD-3-Clause), NumPy, SciPy, scikit-learn, "
    "nibabel, pydicom (BSD/MIT), SimpleITK (Apache-2.0), matplotlib (PSF-based), safetensors "
    "(Apache-2.0), platformdirs (MIT).</small>"
)
# Mouse and keys handled by the panels and the window's key handler (not by a command);
# the help lists them, then every command's own shortcut (gui.actions.key_help_html).
NAVIGATION_HELP = (
    ("Mouse wheel, Up/Down arrows", "previous / next slice"),
    ("Page Up / Page Down", "10 slices"),
    ("Home / End", "first / last slice"),
    ("Ctrl + wheel", "zoom (all panels together)"),
    ("Left-drag, middle-drag", "pan"),
    ("Left click", "crosshair and pixel values"),
    ("Left-drag with the ruler on", "measure a distance in mm"),
    ("Wheel in a coronal / sagittal view", "step through that view's sections"),
    ("Right-drag or Ctrl + left-drag", "window/level (left-right: width, up-down: level)"),
    ("Double click", "reset zoom"),
    ("Down / Up in a queue", "next / previous queue item"),
)
# What a command's key does, where its menu text does not say it well enough.
KEY_HELP = {
    "radiological": "radiological / neurological",
    "abnormal": "mark the slice abnormal (the case, while the Cases tab of a batch is in front)",
    "normal": "mark the slice normal (the case, while the Cases tab of a batch is in front)",
    "defer": "defer the slice (the case, while the Cases tab of a batch is in front)",
    "next": "next queue item",
    "previous": "previous queue item",
    "switch": "switch between the case queue and the slice queue of a batch",
    "open_batch": "open a folder of cases as a batch",
    "export": "export a report",
    "shortcuts": "this list",
    "clear_crosshair": "cancel the running analysis; with none running, clear the crosshair",
    "run_abnormal": "mark every slice of the finding on screen abnormal",
    "undo": "undo the last decision of this case (kept in the audit trail)",
    "clear_decision": "clear the decision of the slice (the case, in the Cases tab)",
    "three_views": "three views (axial, coronal, sagittal) / six maps",
    "ruler": "ruler on (drag to measure) / off and cleared",
}

# --- review queue (left dock) -------------------------------------------------------------
MENU_REVIEW = "Re&view"
QUEUE_DOCK_TITLE = "Review queue"
QUEUE_FILTER_LABEL = "Show:"
QUEUE_FILTERS = {
    "review": "Findings, then slices for review",
    "flagged": "Flagged",
    "undecided": "Undecided (deferred included)",
    "all": "All brain slices",
}
QUEUE_COLUMNS = ("Slice", "Model", "Score", "Uncert.", "Reviewer")
QUEUE_TIP = (
    "Findings (runs of flagged slices) first, then the model's 'review' slices, most likely "
    "wrong first, then the flagged slices through each finding. Up/Down or J/K: next item; "
    "A/N/D: decide; Shift+A: the whole finding; the maps follow the selection."
)
MODEL_WORDS = {"normal": "normal", "flagged": "flagged", "review": "review"}
REVIEWER_WORDS = {"abnormal": "abnormal", "normal": "normal", "defer": "deferred"}
QUEUE_SUMMARY = "{shown} of {total} slices shown; {settled} decided, {deferred} deferred"
QUEUE_WAITING = "The analysed slices of the open case appear here."
REVIEWER_LABEL = "Reviewer:"
REVIEWER_TIP = "Stored with every decision. Defaults to your login name."
NOTE_PLACEHOLDER = "Note: saved with the next decision (Enter: with the current one)"
BTN_ABNORMAL = "Abnormal (A)"
BTN_NORMAL = "Normal (N)"
BTN_DEFER = "Defer (D)"
CASE_LABEL = "Whole case:"
CASE_DECISION = "Case: {decision} ({reviewer})"
CASE_UNDECIDED = "Case: no decision yet"
ACT_ABNORMAL = "Mark slice &abnormal"
ACT_NORMAL = "Mark slice &normal"
ACT_DEFER = "&Defer slice"
ACT_CASE_ABNORMAL = "Mark whole case abnormal"
ACT_CASE_NORMAL = "Mark whole case normal"
ACT_CASE_DEFER = "Defer whole case"
ACT_NEXT_ITEM = "Ne&xt queue item"
ACT_PREVIOUS_ITEM = "&Previous queue item"
ACT_SWITCH_QUEUE = "Switch between the &case and slice queues"
KEY_TITLES_SLICES = {
    "abnormal": ACT_ABNORMAL,
    "normal": ACT_NORMAL,
    "defer": ACT_DEFER,
    "next": ACT_NEXT_ITEM,
    "previous": ACT_PREVIOUS_ITEM,
}
KEY_TITLES_CASES = {
    "abnormal": "Mark case &abnormal",
    "normal": "Mark case &normal",
    "defer": "&Defer case",
    "next": "Ne&xt case",
    "previous": "&Previous case",
}
STATUS_DECIDED = "Slice {slice}: {decision}, saved for {reviewer}."
STATUS_CASE_DECIDED = "Whole case: {decision}, saved for {reviewer}."
STATUS_NOTE_SAVED = "Note saved for slice {slice}."
STATUS_NOT_DECIDABLE = "Slice {slice} has no analysed brain to decide on."
STATUS_NO_SESSION = "Decisions can be made once a volume is open and its model is loaded."
STATUS_SESSION_RESUMED = "Resumed the review of this case: {count} slice decisions so far."
REVIEWER_LINE = "Reviewer: {decision} ({reviewer})"
ERROR_STORE_TITLE = "Review decisions cannot be saved"
ERROR_STORE = "{reason} Decisions made now are not saved."

# --- triage thresholds (left dock) --------------------------------------------------------
THRESH_DOCK_TITLE = "Triage thresholds"
THRESH_SCORE = "Flag above score"
THRESH_UNC = "Review above uncertainty"
THRESH_SCORE_TIP = "A slice whose anomaly score is above this is flagged."
THRESH_UNC_TIP = (
    "A slice whose mean total uncertainty is above this goes to review, whatever its score."
)
THRESH_OFF = "off"
THRESH_RESET = "Calibrated"
THRESH_RESET_TIP = "Back to the thresholds the model was calibrated with."
THRESH_CALIBRATED = "Calibrated: {score} / {unc}"
THRESH_RESUMED = "Thresholds resumed from this case's earlier review."
COUNTS_HTML = (
    "<span style='color:{c_flagged}'><b>{flagged}</b> flagged</span> &nbsp; "
    "<span style='color:{c_review}'><b>{review}</b> review</span> &nbsp; "
    "<span style='color:{c_normal}'><b>{normal}</b> normal</span> &nbsp; "
    "<span style='color:#9e9e9e'>{empty} no brain</span>"
)
PREVIEW_CASE = "This case: the model decides {auto} of {brain} brain slices ({pct:.0f} %)."
PREVIEW_CASE_NONE = "This case: nothing analysed yet."
PREVIEW_VALIDATION = (
    "Validation: the model decides {cov:.0f} %, {err} of them wrong; "
    "{missed:.0f} % of abnormal slices go to review."
)
PREVIEW_NO_VALIDATION = "model.json has no per-slice validation scores: this case only."
PREVIEW_OOD = "Unlike the training data: no slice is cleared automatically."
PREVIEW_PLOT_X = "Uncertainty threshold"
PREVIEW_PLOT_CASE = "this case"
PREVIEW_PLOT_VALIDATION = "validation"
PREVIEW_TIP = (
    "Share of brain slices the model decides alone (y) for each uncertainty threshold (x); "
    "the dashed line is the current threshold. Click to move it."
)

# --- report export --------------------------------------------------------------------------
EXPORT_TITLE = "Export report"
EXPORT_PATH_LABEL = "Save as:"
EXPORT_BROWSE = "Browse..."
EXPORT_FILTER = "PDF report (*.pdf);;HTML report (*.html);;CSV table (*.csv);;JSON (*.json)"
EXPORT_FORMATS_HINT = "The file name decides the format: .pdf, .html, .csv or .json."
EXPORT_IDENTIFIERS = "Include patient identifiers (name, ID, dates, institution)"
EXPORT_IDENTIFIERS_TIP = (
    "Off (the default): the report is de-identified, also in the file name and notes."
)
EXPORT_NO_CASE = "Open a volume and let the analysis finish before exporting a report."
EXPORT_NOT_FINISHED = "The analysis of this volume is not complete: open it again to finish it."
EXPORT_UNAVAILABLE = "This installation cannot write reports ({reason})."
ERROR_EXPORT_TITLE = "The report could not be written"
STATUS_EXPORTING = "Writing the report {name}..."
STATUS_EXPORTED = "Report saved to {path}"

# --- a folder of cases opened as a batch (the Cases tab of the queue dock) -------------------
TAB_SLICES = "Slices"
TAB_CASES = "Cases"
CASE_COLUMNS = ("Case", "Model", "Score", "Uncert.", "Reviewer")
CASE_QUEUE_TIP = (
    "Cases of the batch: the model's 'review' cases first, then those it could not read, then "
    "'flagged' and 'normal', each by anomaly score (the case's most anomalous slice). "
    "Up/Down or J/K: next case, shown in the maps; A/N/D: decide the whole case."
)
CASE_FILTERS = {
    "all": "All cases",
    "review": "For review (model unsure)",
    "flagged": "Flagged",
    "undecided": "Undecided (deferred included)",
    "failed": "Could not be read",
}
CASE_STATUS_WORDS = {
    "pending": "waiting",
    "analysing": "analysing...",
    "done": "analysed",
    "failed": "unreadable",
    "stopped": "not analysed",
}
CASE_BUTTONS = {"abnormal": "Abnormal (A)", "normal": "Normal (N)", "defer": "Defer (D)"}
CASE_NOTE_PLACEHOLDER = "Note on the case: saved with its next decision (Enter: with the current)"
CASE_SUMMARY = "{shown} of {total} cases shown; {settled} decided; {failed} could not be read"
CASE_DETAIL = "{name}: {model}. {reason}"
CASE_NO_REASON = "No run of slices above the anomaly threshold, few uncertain slices."
CASE_FAILED_DETAIL = "{name} could not be read: {reason}"
CASE_PENDING_DETAIL = "{name}: {status}"
BATCH_PROGRESS = "{done} of {total} cases analysed"
BATCH_PROGRESS_FAILED = ", {failed} unreadable"
BATCH_STOP = "Stop"
BATCH_WAITING = "The cases of the batch appear here as they are analysed."
BATCH_FOLDER = "Batch: {name} ({count} cases)"
BATCH_STARTED = "Analysing a batch of {count} cases, one at a time..."
BATCH_DONE = "Batch finished: {analysed} of {total} cases analysed, {failed} could not be read."
BATCH_CANCELLED = "Batch stopped; select a case that was not analysed to analyse it."
BATCH_ERROR_TITLE = "Cannot open this folder as a batch"
BATCH_EMPTY = (
    "No cases were found in {path}: expected volume files, BraTS case folders "
    "(CASE/CASE_t1ce.nii.gz) or DICOM series folders."
)
BATCH_CASE_ERROR = "The file could not be read ({reason})."
BATCH_UNREADABLE = "The case could not be read."
BATCH_CANNOT_OPEN = "This case cannot be shown: {reason}"
BATCH_STILL_SHOWN = "The maps still show {name}."
BATCH_NOT_DECIDABLE = "A case that could not be read cannot be decided here: {reason}"
BATCH_NOT_LOADED = "{name} is not loaded yet; decide it once it is."
BATCH_NO_CASE = "Select a case in the case queue first."
BATCH_DECIDED = "Case {name}: {decision}, saved for {reviewer}."
BATCH_NOTHING_ANALYSED = "No case of the batch could be analysed."

# --- the Model menu: which trained model the window runs ------------------------------------
ACT_MODEL_BUNDLED = "&Bundled model: {method} ({hash})"
ACT_MODEL_BUNDLED_MISSING = "Bundled model (missing from this installation)"
ACT_MODEL_OPEN = "&Open model folder..."
ACT_MODEL_RECENT = "{method}: {folder} ({hash})"
ACT_MODEL_RECENT_BROKEN = "{folder} (cannot be read)"
ACT_MODEL_RECENT_MISSING = "{folder} (folder not found)"
MODEL_RECENT_HEADER = "Recently used model folders"
MODEL_OPEN_TITLE = "Choose a trained model folder (weights.safetensors and model.json)"
MODEL_FOLDER_TIP = "Model folder: {folder}"
STATUS_MODEL_LOADING = "Checking the model in {folder}..."
STATUS_MODEL_SWITCHED = "Now using {method}, {name} ({hash}) from {folder}."
STATUS_MODEL_SAME = "That model is already in use."
STATUS_MODEL_FALLBACK = (
    "The model chosen last time could not be used ({reason}); using the bundled model."
)
STATUS_MODEL_FOLDER_GONE = "{folder} no longer exists"
ERROR_MODEL_TITLE = "Cannot use this model"
ERROR_MODEL_UNEXPECTED = "The model in {folder} could not be loaded ({reason})."
OTHER_MODEL_DECISIONS = (
    "{count} earlier decision(s) on this case were made with another model ({models}); "
    "they stay with that model and are not shown here. Model menu: switch back to see them."
)
OTHER_MODEL_NAME = "{name} {hash}"
# Slice details: why a slice is in review (analysis.review_reasons makes the sentence).
REVIEW_REASON_HTML = (
    "<div style='margin-top:4px;color:#ffb74d'><b>Why in review:</b> {reason}</div>"
)
