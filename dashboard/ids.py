"""Every component id of the dashboard, nothing else. Feature prefix first, element last."""

from dash import ALL

# shell
TABS = "app-tabs"
TAB_NAMES = ("explore", "label", "generate", "train", "evaluate", "jobs")  # the tab_id of each, in order
ANNOTATOR_INPUT = "app-annotator-input"
URL = "app-url"
APP_ERROR = "app-error"
PAGE_LOADED = "app-page-loaded"  # fires once when a page loads: each job bar takes up the run it followed

# Label view
LABEL_SOURCE_FILTER = "label-source-filter"
LABEL_PATTERN_FILTER = "label-pattern-filter"
LABEL_LABEL_FILTER = "label-label-filter"
LABEL_ROUND_FILTER = "label-round-filter"
LABEL_PREDICTED_FILTER = "label-predicted-filter"
LABEL_CONFIDENCE_RANGE = "label-confidence-range"
LABEL_SORT_SELECT = "label-sort-select"
LABEL_GRID = "label-grid"
LABEL_COUNT = "label-count"
LABEL_STATUS = "label-status"
LABEL_PREV_BUTTON = "label-prev-button"
LABEL_NEXT_BUTTON = "label-next-button"
LABEL_SELECT_PAGE_BUTTON = "label-select-page-button"
LABEL_CLEAR_BUTTON = "label-clear-button"
LABEL_UNDO_BUTTON = "label-undo-button"
LABEL_PAGE_STORE = "label-page-store"
LABEL_PAGE_IDS_STORE = "label-page-ids-store"
LABEL_SELECTION_STORE = "label-selection-store"
LABEL_FOCUS_STORE = "label-focus-store"
LABEL_VERSION_STORE = "label-version-store"
LABEL_DETAIL = "label-detail"
LABEL_HISTORY_TABLE = "label-history-table"

# Explore view
EXPLORE_GRAPH = "explore-graph"
EXPLORE_TOOLTIP = "explore-tooltip"
EXPLORE_COLOUR_SELECT = "explore-colour-select"
EXPLORE_DIMS_RADIO = "explore-dims-radio"
EXPLORE_METHOD_RADIO = "explore-method-radio"
EXPLORE_SEED_INPUT = "explore-seed-input"
EXPLORE_EPOCHS_INPUT = "explore-epochs-input"
EXPLORE_BUILD_BUTTON = "explore-build-button"
EXPLORE_FEATURES_SELECT = "explore-features-select"
EXPLORE_SEPARATION = "explore-separation"
EXPLORE_RELAYOUT_BUTTON = "explore-relayout-button"
EXPLORE_PLACE_BUTTON = "explore-place-button"
EXPLORE_CANCEL_BUTTON = "explore-cancel-button"
EXPLORE_SYMMETRY_BUTTON = "explore-symmetry-button"
EXPLORE_PROGRESS = "explore-progress"
EXPLORE_JOB_STATUS = "explore-job-status"
EXPLORE_RUN_STORE = "explore-run-store"
EXPLORE_DRAWN_STORE = "explore-drawn-store"  # the traces the figure on screen was drawn with, in order
EXPLORE_VERSION_STORE = "explore-version-store"
EXPLORE_SELECTION_STORE = "explore-selection-store"
EXPLORE_GALLERY = "explore-gallery"
EXPLORE_GALLERY_COUNT = "explore-gallery-count"
EXPLORE_GALLERY_PAGE_STORE = "explore-gallery-page-store"
EXPLORE_GALLERY_PREV_BUTTON = "explore-gallery-prev-button"
EXPLORE_GALLERY_NEXT_BUTTON = "explore-gallery-next-button"
EXPLORE_UNDO_BUTTON = "explore-undo-button"
EXPLORE_STATUS = "explore-status"
EXPLORE_DETAIL = "explore-detail"
EXPLORE_PROFILE_GRAPH = "explore-profile-graph"
EXPLORE_POLAR_TEXT = "explore-polar-text"
EXPLORE_PROFILE_NOTE = "explore-profile-note"
EXPLORE_CAKE_GRAPH = "explore-cake-graph"
EXPLORE_SIDE_TABS = "explore-side-tabs"
EXPLORE_SELECTION_TAB = "explore-selection-tab"
EXPLORE_INCLUDE_EXPERIMENTAL = "explore-include-experimental"
EXPLORE_SELECTION_KINDS = "explore-selection-kinds"
EXPLORE_DETAIL_STORE = "explore-detail-store"
EXPLORE_LABELLED_STORE = "explore-labelled-store"

# Generate view
GEN_PRESET_SELECT = "gen-preset-select"
GEN_TRAIN_STEPS_INPUT = "gen-train-steps-input"
GEN_RESUME_SELECT = "gen-resume-select"
GEN_TRAIN_BUTTON = "gen-train-button"
GEN_TRAIN_PROGRESS = "gen-train-progress"
GEN_LOSS_GRAPH = "gen-loss-graph"
GEN_TRAIN_STATUS = "gen-train-status"
GEN_CHECKPOINT_SELECT = "gen-checkpoint-select"
GEN_PATTERN_SELECT = "gen-pattern-select"
GEN_PROMPT_INPUT = "gen-prompt-input"
GEN_COUNT_INPUT = "gen-count-input"
GEN_SEED_INPUT = "gen-seed-input"
GEN_STEPS_INPUT = "gen-steps-input"
GEN_GUIDANCE_INPUT = "gen-guidance-input"
GEN_RUN_BUTTON = "gen-run-button"
GEN_CANCEL_BUTTON = "gen-cancel-button"
GEN_PROGRESS = "gen-progress"
GEN_STATUS = "gen-status"
GEN_GALLERY = "gen-gallery"
GEN_VERSION_STORE = "gen-version-store"

# Label view: a review queue replaces the filters while it is open
LABEL_QUEUE_STORE = "label-queue-store"
LABEL_QUEUE_BANNER = "label-queue-banner"
LABEL_QUEUE_ROW = "label-queue-row"
LABEL_QUEUE_CLEAR_BUTTON = "label-queue-clear-button"
LABEL_FILTERS_ROW = "label-filters-row"

# Keyboard help (the "?" key), in the navbar
KEYS_BUTTON = "keys-button"
KEYS_MODAL = "keys-modal"

# Train tab
TRAIN_TASK_SELECT = "train-task-select"
TRAIN_MODELS_CHECKLIST = "train-models-checklist"
TRAIN_WEIGHTS_NOTE = "train-weights-note"
TRAIN_EPOCHS_INPUT = "train-epochs-input"
TRAIN_LR_INPUT = "train-lr-input"
TRAIN_BATCH_INPUT = "train-batch-input"
TRAIN_SIZE_INPUT = "train-size-input"
TRAIN_COST_INPUT = "train-cost-input"
TRAIN_COST_BLOCK = "train-cost-block"  # the cost field and its note: realism rounds only
TRAIN_SOURCES_BLOCK = "train-sources-block"  # which sources a pattern round learns from: pattern only
TRAIN_SOURCES_CHECKLIST = "train-sources-checklist"
TRAIN_INIT_RADIO = "train-init-radio"
TRAIN_DEVICE_SELECT = "train-device-select"
TRAIN_NEXT_ROUND_SWITCH = "train-next-round-switch"
TRAIN_RUN_BUTTON = "train-run-button"
TRAIN_CANCEL_BUTTON = "train-cancel-button"
TRAIN_PROGRESS = "train-progress"
TRAIN_STATUS = "train-status"
TRAIN_CURVES_GRAPH = "train-curves-graph"
TRAIN_TABLE = "train-table"
TRAIN_RUN_SELECT = "train-run-select"
TRAIN_CONFUSION_GRAPH = "train-confusion-graph"
TRAIN_PREDICT_BUTTON = "train-predict-button"
TRAIN_PREDICT_PROGRESS = "train-predict-progress"
TRAIN_PREDICT_CANCEL_BUTTON = "train-predict-cancel-button"
TRAIN_THRESHOLD_INPUT = "train-threshold-input"
TRAIN_PRELABEL_BUTTON = "train-prelabel-button"
TRAIN_REVIEW_UNCERTAIN_BUTTON = "train-review-uncertain-button"
TRAIN_REVIEW_DISAGREE_BUTTON = "train-review-disagree-button"
TRAIN_REVIEW_DOUBTED_BUTTON = "train-review-doubted-button"
TRAIN_REVIEW_STATUS = "train-review-status"
TRAIN_EXPLAIN_IMAGE_INPUT = "train-explain-image-input"
TRAIN_EXPLAIN_MODEL_SELECT = "train-explain-model-select"
TRAIN_EXPLAIN_BUTTON = "train-explain-button"
TRAIN_EXPLAIN_PANEL = "train-explain-panel"
TRAIN_VERSION_STORE = "train-version-store"
TRAIN_RECIPE_SELECT = "train-recipe-select"
TRAIN_LEARNING_GRAPH = "train-learning-graph"

# Evaluate tab
EVAL_EXTRACTOR_SELECT = "eval-extractor-select"
EVAL_RUN_BUTTON = "eval-run-button"
EVAL_CANCEL_BUTTON = "eval-cancel-button"
EVAL_PROGRESS = "eval-progress"
EVAL_STATUS = "eval-status"
EVAL_REPORT_BUTTON = "eval-report-button"
EVAL_REPORT_STATUS = "eval-report-status"
EVAL_RUN_SELECT = "eval-run-select"
EVAL_TABLE = "eval-table"
EVAL_SYMMETRY_GRAPH = "eval-symmetry-graph"
EVAL_GENERATORS_GRAPH = "eval-generators-graph"
EVAL_HISTORY_GRAPH = "eval-history-graph"
EVAL_POLAR_PANEL = "eval-polar-panel"
EVAL_PROFILE_NOTE = "eval-profile-note"
EVAL_VERSION_STORE = "eval-version-store"

# Jobs view
JOBS_TABLE = "jobs-table"
JOBS_INTERVAL = "jobs-interval"
JOBS_STATUS = "jobs-status"
GEN_TRAIN_CANCEL_BUTTON = "gen-train-cancel-button"
JOB_PROGRESS_BARS = (
    EXPLORE_PROGRESS,
    GEN_TRAIN_PROGRESS,
    GEN_PROGRESS,
    TRAIN_PROGRESS,
    TRAIN_PREDICT_PROGRESS,
    EVAL_PROGRESS,
)


def job_run(progress_id: str) -> dict:
    """The store holding the id of the run that a job's progress bar follows (what its Cancel cancels)."""
    return {"type": "job-run", "bar": progress_id}


def job_resume(progress_id: str) -> dict:
    """The store a page's load fills with the id of a running run its job bar should take up (a reloaded page)."""
    return {"type": "job-resume", "bar": progress_id}


def jobs_cancel_button(run_id: int) -> dict:
    return {"type": "jobs-cancel-button", "run": run_id}


JOBS_CANCEL_ALL = {"type": "jobs-cancel-button", "run": ALL}

# login (only present when login is on)
LOGIN_ROLE_BADGE = "login-role-badge"
LOGIN_SIGN_OUT_LINK = "login-sign-out-link"


def label_card(image_id: int) -> dict:
    """Id of one thumbnail card in the Label grid."""
    return {"type": "label-card", "index": int(image_id)}


def label_button(label: str) -> dict:
    """Id of the button that applies `label` to the selection."""
    return {"type": "label-apply-button", "label": label}


LABEL_CARD_ALL = {"type": "label-card", "index": ALL}
LABEL_BUTTON_ALL = {"type": "label-apply-button", "label": ALL}


def explore_label_button(label: str) -> dict:
    """Id of the button that applies `label` to the whole map selection."""
    return {"type": "explore-apply-button", "label": label}


EXPLORE_BUTTON_ALL = {"type": "explore-apply-button", "label": ALL}


def explore_gallery_card(image_id: int) -> dict:
    """Id of one card in the Explore selection gallery (clicking it opens the image's detail)."""
    return {"type": "explore-gallery-card", "index": int(image_id)}


EXPLORE_GALLERY_CARD_ALL = {"type": "explore-gallery-card", "index": ALL}
# Viewer (a modal over every tab): the full-resolution frame, and side-by-side compare
VIEWER_MODAL = "viewer-modal"
VIEWER_TITLE = "viewer-title"
VIEWER_TABS = "viewer-tabs"
VIEWER_GRAPH = "viewer-graph"
VIEWER_IMAGE_STORE = "viewer-image-store"
VIEWER_REGION_STORE = "viewer-region-store"
VIEWER_SCALE_RADIO = "viewer-scale-radio"
VIEWER_CLIP_SLIDER = "viewer-clip-slider"
VIEWER_COLOURMAP_SELECT = "viewer-colourmap-select"
VIEWER_MASK_SWITCH = "viewer-mask-switch"
VIEWER_CAPTION = "viewer-caption"
VIEWER_READOUT = "viewer-readout"
VIEWER_FACTS = "viewer-facts"
COMPARE_NEAREST_BUTTON = "compare-nearest-button"
COMPARE_WITH_INPUT = "compare-with-input"
COMPARE_WITH_BUTTON = "compare-with-button"
COMPARE_GRAPH = "compare-graph"
COMPARE_INFO = "compare-info"
COMPARE_STORE = "compare-store"

# Search (navbar): go to an image by id, prompt or description
SEARCH_INPUT = "search-input"
SEARCH_PANEL = "search-panel"
SEARCH_RESULTS = "search-results"
SEARCH_COUNT = "search-count"
SEARCH_QUEUE_BUTTON = "search-queue-button"
SEARCH_CLOSE_BUTTON = "search-close-button"
SEARCH_IDS_STORE = "search-ids-store"


def viewer_open(image_id: int, where: str) -> dict:
    """Id of a button that opens image `image_id` in the full-resolution viewer; `where` (the view holding the
    button: "explore", "search", "compare", ...) keeps two buttons for one image apart."""
    return {"type": "viewer-open", "index": int(image_id), "from": where}


VIEWER_OPEN_ALL = {"type": "viewer-open", "index": ALL, "from": ALL}


def selection_export(where: str, fmt: str) -> dict:
    """Id of the button exporting the `where` ("explore" map / "label" grid) selection as `fmt`."""
    return {"type": "selection-export", "where": where, "format": fmt}


def selection_queue(where: str) -> dict:
    """Id of the button sending the `where` selection to the Label tab as a queue."""
    return {"type": "selection-queue", "where": where}


def selection_status(where: str) -> dict:
    return {"type": "selection-status", "where": where}


def tab_shown(tab: str) -> str:
    """Id of the store set each time tab `tab` is opened (and only then): a tab's callbacks listen to their own
    tab's store, so opening one tab asks the server for that tab's content only (callbacks/tabs.py)."""
    return f"app-tab-shown-{tab}"
