"""Detector geometry: what is detector, where the beam is, calibration files, azimuthal integration."""

from .active import ActiveArea, active_area
from .centre import CentreResult, find_centre, search_centre

__all__ = ["ActiveArea", "active_area", "CentreResult", "find_centre", "search_centre"]
