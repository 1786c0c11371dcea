"""Physics simulators: scattering frames, hallucination variants and coherent speckle."""

from .calibrants import CALIBRANTS, ring_radii_px, wavelength
from .dataset import SIM_PATTERNS, SimulateResult, frame_record, simulate_dataset
from .patterns import ALL_ARTIFACTS, ARTIFACTS, PATTERNS, SimulatedFrame, simulate_frame
from .speckle import SpeckleFrame, place_disks, simulate_speckle, speckle_intensity

__all__ = [
    "CALIBRANTS",
    "ring_radii_px",
    "wavelength",
    "SIM_PATTERNS",
    "SimulateResult",
    "frame_record",
    "simulate_dataset",
    "ALL_ARTIFACTS",
    "ARTIFACTS",
    "PATTERNS",
    "SimulatedFrame",
    "simulate_frame",
    "SpeckleFrame",
    "place_disks",
    "simulate_speckle",
    "speckle_intensity",
]
