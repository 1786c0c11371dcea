"""Every component id of the dashboard, nothing else. Feature prefix first, element last."""

from dash import ALL

# shell
TABS = "app-tabs"
ANNOTATOR_INPUT = "app-annotator-input"
URL = "app-url"

# Label view
LABEL_SOURCE_FILTER = "label-source-filter"
LABEL_PATTERN_FILTER = "label-pattern-filter"
LABEL_LABEL_FILTER = "label-label-filter"
LABEL_ROUND_FILTER = "label-round-filter"
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

# Jobs view
JOBS_TABLE = "jobs-table"
JOBS_INTERVAL = "jobs-interval"


def label_card(image_id: int) -> dict:
    """Id of one thumbnail card in the Label grid."""
    return {"type": "label-card", "index": int(image_id)}


def label_button(label: str) -> dict:
    """Id of the button that applies `label` to the selection."""
    return {"type": "label-apply-button", "label": label}


LABEL_CARD_ALL = {"type": "label-card", "index": ALL}
LABEL_BUTTON_ALL = {"type": "label-apply-button", "label": ALL}
