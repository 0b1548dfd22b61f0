"""wamkt_nb: WhatsApp marketing for growth analysts, in Jupyter notebooks and Voila dashboards."""

__version__ = "0.1.0"
