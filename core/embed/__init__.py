"""Latent space: the autoencoder, its inputs, UMAP/PCA projection and placement of new images."""

from .pipeline import MapParams, MapResult, PlaceResult, build_map, place_new, reconstruct_image

__all__ = ["MapParams", "MapResult", "PlaceResult", "build_map", "place_new", "reconstruct_image"]
