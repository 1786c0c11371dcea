"""scatterloop core: the science and the data. Never imports dash."""

__version__ = "0.1.0"
